//! The libbpf-cargo skeleton of `bpf/synwave.bpf.c`.
//!
//! `build.rs` writes it to `$OUT_DIR/synwave.skel.rs`. It is included here
//! rather than in `xdp.rs` because the generated code is full of `unsafe` and
//! the crate allows `unsafe` under [`super`] only; [`crate::io::xdp`] is its
//! sole user. The code is libbpf-cargo's, not ours, hence the lint exemptions
//! (including the `# Safety` and `SAFETY:` rule of [`super`]).
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc,
    unsafe_op_in_unsafe_fn,
    missing_docs,
    dead_code,
    non_camel_case_types
)]

include!(concat!(env!("OUT_DIR"), "/synwave.skel.rs"));
