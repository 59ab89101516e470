//! Everything the compiler cannot check: the one module of the crate allowed
//! `unsafe` (the crate root denies `unsafe_code`; this module allows it back).
//!
//! Keeping it in one folder is what makes it reviewable. The rule here:
//! every `unsafe fn` says in a `# Safety` section what its caller must
//! guarantee, and every `unsafe` block says in a `// SAFETY:` comment why
//! that holds at that call. Clippy's `undocumented_unsafe_blocks` and
//! `missing_safety_doc` hold the code to it, and `unsafe_op_in_unsafe_fn`
//! makes the body of an `unsafe fn` spell out its own `unsafe` blocks.
//!
//! - [`xsk`]: the AF_XDP socket over xsk-rs, its UMEM and four rings
//!   ([`XskSocket`], [`Frames`], [`XskConfig`], [`XskMode`], [`XskStats`]).
//! - [`ring`]: the ring logic of that socket (fill, rx, tx, completion),
//!   written over a [`ring::Rings`] trait so the tests run it on in-memory
//!   rings, playing the kernel's side.
//! - [`skel`]: the generated libbpf skeleton of `bpf/synwave.bpf.c`, for
//!   [`crate::io::xdp`].
//! - [`huge_pages`]: the global allocator that asks for transparent huge
//!   pages on large allocations ([`HugePageAlloc`]).
//! - [`os`]: thin safe wrappers over the libc calls the rest of the I/O
//!   layer needs (ioctls, `setns`, `sigaction`, AF_PACKET, the clock).
#![allow(unsafe_code)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

pub(crate) mod huge_pages;
pub(crate) mod os;
pub(crate) mod ring;
pub(crate) mod skel;
pub(crate) mod xsk;

pub use huge_pages::HugePageAlloc;
pub use xsk::{Frames, XskConfig, XskMode, XskSocket, XskStats};
