//! [`Ledger`] over in-memory rings, with the test playing the kernel's side.
//!
//! [`MemRing`] has the kernel's ring semantics: `size` entries (a power of
//! two), a producer and a consumer index that only grow and wrap at
//! `u32::MAX`, entry `i` at `i & (size - 1)`, producing all or nothing (as
//! libxdp's reserve) and consuming up to what is asked (as libxdp's peek).
//! [`MemRings`] is four of them plus a small UMEM; its `kernel_*` methods
//! are what the kernel does with the other end of each ring.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;

use super::{Ledger, Rings};
use crate::io::Error;

/// Bytes per frame of the test UMEM, and the largest frame sent.
const FRAME: usize = 64;

/// A descriptor of the test UMEM: frame `addr / FRAME`, `len` bytes used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Desc {
    addr: u32,
    len: u32,
}

impl Desc {
    fn frame(self) -> u32 {
        self.addr / FRAME as u32
    }
}

/// One ring, laid out as the kernel lays out its rings.
struct MemRing {
    entries: Vec<Desc>,
    mask: u32,
    producer: u32,
    consumer: u32,
    need_wakeup: bool,
}

impl MemRing {
    /// An empty ring of `size` entries whose indices both start at `start`.
    fn new(size: u32, start: u32) -> Self {
        assert!(size.is_power_of_two());
        MemRing {
            entries: vec![Desc::default(); size as usize],
            mask: size - 1,
            producer: start,
            consumer: start,
            need_wakeup: false,
        }
    }

    /// Entries between consumer and producer.
    fn len(&self) -> u32 {
        self.producer.wrapping_sub(self.consumer)
    }

    /// Free slots for the producer.
    fn room(&self) -> u32 {
        self.mask + 1 - self.len()
    }

    /// reserve + write + submit: all of `descs`, or none if they do not fit.
    fn produce(&mut self, descs: &[Desc]) -> usize {
        if descs.is_empty() || descs.len() > self.room() as usize {
            return 0;
        }
        for d in descs {
            self.entries[(self.producer & self.mask) as usize] = *d;
            self.producer = self.producer.wrapping_add(1);
        }
        descs.len()
    }

    /// peek + read + release: up to `out.len()` entries.
    fn consume(&mut self, out: &mut [Desc]) -> usize {
        let n = (self.len() as usize).min(out.len());
        for d in &mut out[..n] {
            *d = self.entries[(self.consumer & self.mask) as usize];
            self.consumer = self.consumer.wrapping_add(1);
        }
        n
    }

    fn pop(&mut self) -> Option<Desc> {
        let mut d = [Desc::default()];
        (self.consume(&mut d) == 1).then_some(d[0])
    }

    /// The entries in ring order, oldest first.
    fn contents(&self) -> Vec<Desc> {
        (0..self.len())
            .map(|i| self.entries[(self.consumer.wrapping_add(i) & self.mask) as usize])
            .collect()
    }
}

/// Four rings and a UMEM of `frames` frames.
struct MemRings {
    fill: MemRing,
    rx: MemRing,
    tx: MemRing,
    comp: MemRing,
    umem: Vec<u8>,
    fill_wakeups: usize,
    tx_wakeups: usize,
    /// Wakeups fail (as a syscall can) while this is set.
    wakeups_fail: bool,
}

impl MemRings {
    fn new(frames: u32, ring: u32, start: u32) -> Self {
        MemRings {
            fill: MemRing::new(ring, start),
            rx: MemRing::new(ring, start),
            tx: MemRing::new(ring, start),
            comp: MemRing::new(ring, start),
            umem: vec![0; frames as usize * FRAME],
            fill_wakeups: 0,
            tx_wakeups: 0,
            wakeups_fail: false,
        }
    }

    fn bytes(&self, d: Desc) -> &[u8] {
        let at = d.addr as usize;
        &self.umem[at..at + d.len as usize]
    }

    /// The kernel receives `packets`: each takes a frame off the fill ring,
    /// is written into it and goes on the rx ring, until either ring stops
    /// it. Returns how many were delivered.
    fn kernel_receive(&mut self, packets: &[Vec<u8>]) -> usize {
        let mut n = 0;
        for p in packets {
            if self.rx.room() == 0 {
                break;
            }
            let Some(mut d) = self.fill.pop() else { break };
            let at = d.addr as usize;
            self.umem[at..at + p.len()].copy_from_slice(p);
            d.len = p.len() as u32;
            assert_eq!(self.rx.produce(&[d]), 1);
            n += 1;
        }
        n
    }

    /// The kernel sends up to `max` frames off the tx ring, while the
    /// completion ring has room for them; returns their bytes in order.
    fn kernel_transmit(&mut self, max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < max && self.comp.room() > 0 {
            let Some(d) = self.tx.pop() else { break };
            out.push(self.bytes(d).to_vec());
            assert_eq!(
                self.comp.produce(&[Desc {
                    addr: d.addr,
                    len: 0
                }]),
                1
            );
        }
        out
    }

    fn wake(&self) -> std::io::Result<()> {
        if self.wakeups_fail {
            Err(std::io::Error::from_raw_os_error(libc::ENOBUFS))
        } else {
            Ok(())
        }
    }
}

impl Rings for MemRings {
    type Desc = Desc;

    fn fill_room(&mut self) -> usize {
        self.fill.room() as usize
    }

    /// # Safety
    ///
    /// As [`Rings::fill_produce`] (this UMEM is a `Vec`, so nothing here
    /// depends on it).
    unsafe fn fill_produce(&mut self, descs: &[Desc]) -> usize {
        self.fill.produce(descs)
    }

    fn fill_needs_wakeup(&self) -> bool {
        self.fill.need_wakeup
    }

    fn wake_fill(&mut self) -> std::io::Result<()> {
        self.fill_wakeups += 1;
        self.wake()
    }

    fn rx_consume(&mut self, out: &mut [Desc]) -> usize {
        self.rx.consume(out)
    }

    fn tx_room(&mut self) -> usize {
        self.tx.room() as usize
    }

    /// # Safety
    ///
    /// As [`Rings::write_tx`] (nothing here depends on it).
    unsafe fn write_tx(&mut self, desc: &mut Desc, bytes: &[u8]) -> bool {
        if bytes.len() > FRAME {
            return false;
        }
        let at = desc.addr as usize;
        self.umem[at..at + bytes.len()].copy_from_slice(bytes);
        desc.len = bytes.len() as u32;
        true
    }

    /// # Safety
    ///
    /// As [`Rings::tx_produce`] (nothing here depends on it).
    unsafe fn tx_produce(&mut self, descs: &[Desc]) -> usize {
        self.tx.produce(descs)
    }

    fn tx_needs_wakeup(&self) -> bool {
        self.tx.need_wakeup
    }

    fn wake_tx(&mut self) -> std::io::Result<()> {
        self.tx_wakeups += 1;
        self.wake()
    }

    fn comp_consume(&mut self, out: &mut [Desc]) -> usize {
        self.comp.consume(out)
    }
}

/// A ledger over `frames` frames (the first half RX, as `XskSocket::open`
/// splits them) and rings of `ring` entries whose indices start at `start`.
fn ledger(frames: u32, ring: u32, start: u32, batch: usize) -> Ledger<MemRings> {
    let descs: Vec<Desc> = (0..frames)
        .map(|i| Desc {
            addr: i * FRAME as u32,
            len: 0,
        })
        .collect();
    let (rx, tx) = descs.split_at(descs.len() / 2);
    // SAFETY: a fresh UMEM split in two halves; no frame is on any ring.
    unsafe {
        Ledger::new(
            MemRings::new(frames, ring, start),
            rx.to_vec(),
            tx.to_vec(),
            batch,
            FRAME,
        )
    }
}

/// Where the frames are: every frame of the UMEM in exactly one place, RX
/// frames only on the RX path, TX frames only on the TX path. Returns the
/// place of each frame.
fn census(l: &Ledger<MemRings>) -> BTreeMap<u32, &'static str> {
    census_lent(l, &[])
}

/// [`census`], with `lent` the frames lent to a batch.
fn census_lent(l: &Ledger<MemRings>, lent: &[Desc]) -> BTreeMap<u32, &'static str> {
    let r = &l.rings;
    let frames = (r.umem.len() / FRAME) as u32;
    let half = frames / 2;
    let places: [(&'static str, bool, Vec<Desc>); 7] = [
        ("fill ring", true, r.fill.contents()),
        ("rx ring", true, r.rx.contents()),
        ("fill stash", true, l.fill_stash.clone()),
        ("tx ring", false, r.tx.contents()),
        ("completion ring", false, r.comp.contents()),
        ("free list", false, l.tx_free.clone()),
        ("lent slots", false, lent.to_vec()),
    ];
    let mut at = BTreeMap::new();
    for (place, rx_path, descs) in places {
        for d in descs {
            let f = d.frame();
            assert_eq!(d.addr % FRAME as u32, 0, "{d:?} in the {place}");
            assert_eq!(
                f < half,
                rx_path,
                "frame {f} is in the {place}, on the wrong path"
            );
            if let Some(other) = at.insert(f, place) {
                panic!("frame {f} is in the {other} and the {place} at once");
            }
        }
    }
    assert_eq!(at.len(), frames as usize, "frames lost: {at:?}");
    at
}

fn packet(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

fn received(l: &mut Ledger<MemRings>) -> Result<Vec<Vec<u8>>, Error> {
    l.recv(|rings, descs| descs.iter().map(|&d| rings.bytes(d).to_vec()).collect())
        .map(|(n, got): (usize, Vec<Vec<u8>>)| {
            assert_eq!(n, got.len());
            got
        })
}

fn send(l: &mut Ledger<MemRings>, frames: &[Vec<u8>]) -> Result<usize, Error> {
    l.send(frames.iter().map(Vec::as_slice))
}

#[test]
fn open_puts_every_rx_frame_on_the_fill_ring() {
    let l = ledger(16, 8, 0, 4);
    let at = census(&l);
    assert!((0..8).all(|f| at[&f] == "fill ring"), "{at:?}");
    assert!((8..16).all(|f| at[&f] == "free list"), "{at:?}");
    assert_eq!(l.tx_frames_free(), 8);
}

#[test]
fn a_batch_received_restocks_the_fill_ring_with_exactly_its_frames() {
    let mut l = ledger(16, 8, 0, 4);
    let pkts: Vec<_> = (0..5).map(|i| packet(i, 20 + i)).collect();
    assert_eq!(l.rings.kernel_receive(&pkts), 5);
    let taken: Vec<u32> = l.rings.rx.contents().iter().map(|d| d.frame()).collect();

    let got = received(&mut l).unwrap();
    assert_eq!(got, pkts[..4], "one batch, in ring order");
    // The fill ring lost 5 frames to the kernel and got back the 4 of the
    // batch, at its producer end, and nothing else.
    let fill: Vec<u32> = l.rings.fill.contents().iter().map(|d| d.frame()).collect();
    assert_eq!(fill.len(), 8 - 5 + 4);
    assert_eq!(fill[fill.len() - 4..], taken[..4]);
    assert_eq!(l.rings.rx.len(), 1);
    assert!(l.fill_stash.is_empty());
    census(&l);

    assert_eq!(received(&mut l).unwrap(), pkts[4..]);
    assert_eq!(l.rings.fill.len(), 8);
    census(&l);
}

#[test]
fn an_empty_rx_ring_yields_nothing_and_moves_nothing() {
    let mut l = ledger(16, 8, 0, 4);
    let before = census(&l);
    let (n, calls) = l.recv(|_, descs| descs.len()).unwrap();
    assert_eq!((n, calls), (0, 0));
    assert_eq!(census(&l), before);
    assert_eq!(l.rings.fill_wakeups, 0);
}

#[test]
fn frames_the_fill_ring_cannot_take_wait_in_the_stash() {
    // A fill ring smaller than the RX half (a validated config never asks
    // for one; the ledger must cope anyway).
    let mut l = ledger(16, 4, 0, 8);
    assert_eq!(l.rings.fill.len(), 4);
    assert_eq!(l.fill_stash.len(), 4);
    census(&l);

    let pkts: Vec<_> = (0..4).map(|i| packet(i, 10)).collect();
    assert_eq!(l.rings.kernel_receive(&pkts), 4);
    assert_eq!(l.rings.fill.len(), 0);
    let (n, fill_during) = l.recv(|rings, _| rings.fill.len()).unwrap();
    assert_eq!(n, 4);
    // Restocked from the stash before the batch was processed...
    assert_eq!(fill_during, 4);
    // ...and the batch itself waits in the stash for room.
    assert_eq!(l.rings.fill.len(), 4);
    assert_eq!(l.fill_stash.len(), 4);
    census(&l);
}

#[test]
fn sending_more_than_is_free_refuses_the_excess_and_keeps_it() {
    let mut l = ledger(8, 8, 0, 4);
    let frames: Vec<_> = (0..10).map(|i| packet(i, 40)).collect();
    assert_eq!(send(&mut l, &frames).unwrap(), 4, "4 TX frames");
    assert_eq!(l.tx_frames_free(), 0);
    assert_eq!(send(&mut l, &frames[4..]).unwrap(), 0, "none free");
    census(&l);

    assert_eq!(l.rings.kernel_transmit(usize::MAX), frames[..4]);
    // The caller resubmits from where it was refused.
    assert_eq!(send(&mut l, &frames[4..6]).unwrap(), 2);
    assert_eq!(l.tx_frames_free(), 2);
    assert_eq!(l.rings.kernel_transmit(usize::MAX), frames[4..6]);
    census(&l);
}

#[test]
fn sending_stops_at_a_full_tx_ring() {
    // More free TX frames (8) than tx ring slots (4).
    let mut l = ledger(16, 4, 0, 4);
    let frames: Vec<_> = (0..6).map(|i| packet(i, 30)).collect();
    assert_eq!(send(&mut l, &frames).unwrap(), 4);
    assert_eq!(l.tx_frames_free(), 4);
    assert_eq!(send(&mut l, &frames[4..]).unwrap(), 0);
    assert_eq!(l.tx_frames_free(), 4, "a refused frame takes no frame");
    census(&l);
}

#[test]
fn completions_return_frames_to_the_free_list() {
    // batch 2 < 6 completions: reaping loops until the ring is empty.
    let mut l = ledger(16, 8, 0, 2);
    let frames: Vec<_> = (0..6).map(|i| packet(i, 50)).collect();
    assert_eq!(send(&mut l, &frames).unwrap(), 6);
    assert_eq!(l.tx_frames_free(), 2);
    assert_eq!(l.rings.kernel_transmit(usize::MAX).len(), 6);
    assert_eq!(l.rings.comp.len(), 6);
    // A receive with nothing to receive still reaps.
    assert_eq!(received(&mut l).unwrap().len(), 0);
    assert_eq!(l.rings.comp.len(), 0);
    assert_eq!(l.tx_frames_free(), 8);
    census(&l);
}

#[test]
fn an_oversized_frame_is_refused_without_losing_a_frame() {
    let mut l = ledger(16, 8, 0, 4);
    let big = vec![packet(0, FRAME + 1)];
    match send(&mut l, &big) {
        Err(Error::FrameTooLarge { len, max }) => assert_eq!((len, max), (FRAME + 1, FRAME)),
        other => panic!("{other:?}"),
    }
    let mixed = [
        packet(1, 10),
        packet(2, FRAME),
        packet(3, FRAME + 1),
        packet(4, 10),
    ];
    assert_eq!(send(&mut l, &mixed).unwrap(), 2, "stops before the big one");
    assert_eq!(l.tx_frames_free(), 6);
    assert_eq!(l.rings.kernel_transmit(usize::MAX), mixed[..2]);
    census(&l);
}

#[test]
fn the_kernel_is_woken_only_when_it_asks() {
    let mut l = ledger(16, 8, 0, 4);
    let pkts = vec![packet(0, 10)];
    l.rings.kernel_receive(&pkts);
    received(&mut l).unwrap();
    send(&mut l, &pkts).unwrap();
    assert_eq!((l.rings.fill_wakeups, l.rings.tx_wakeups), (0, 0));

    l.rings.fill.need_wakeup = true;
    l.rings.tx.need_wakeup = true;
    received(&mut l).unwrap();
    assert_eq!(l.rings.fill_wakeups, 1, "even with nothing received");
    send(&mut l, &pkts).unwrap();
    assert_eq!(l.rings.tx_wakeups, 1);
    // Nothing submitted: nothing to kick.
    send(&mut l, &[]).unwrap();
    assert_eq!(send(&mut l, &[packet(0, FRAME + 1)]).ok(), None);
    assert_eq!(l.rings.tx_wakeups, 1);
}

#[test]
fn a_failed_wakeup_is_reported_and_loses_no_frame() {
    let mut l = ledger(16, 8, 0, 4);
    l.rings.fill.need_wakeup = true;
    l.rings.tx.need_wakeup = true;
    l.rings.wakeups_fail = true;
    let pkts: Vec<_> = (0..3).map(|i| packet(i, 10)).collect();
    l.rings.kernel_receive(&pkts);
    match received(&mut l) {
        Err(Error::Os { op, .. }) => assert_eq!(op, "waking AF_XDP fill ring"),
        other => panic!("{other:?}"),
    }
    match send(&mut l, &pkts) {
        Err(Error::Os { op, .. }) => assert_eq!(op, "waking AF_XDP tx ring"),
        other => panic!("{other:?}"),
    }
    // The frames were handed over before the wakeup failed.
    assert_eq!(l.rings.fill.len(), 8);
    assert_eq!(l.rings.tx.len(), 3);
    census(&l);
}

#[test]
fn ring_indices_wrap_at_u32_max() {
    // Indices start 3 short of the wrap; 40 rounds of 3 frames each way
    // carry every ring across it.
    let start = u32::MAX - 2;
    let mut l = ledger(8, 4, start, 4);
    for round in 0..40 {
        let pkts: Vec<_> = (0..3).map(|i| packet(round * 3 + i, 16 + i)).collect();
        assert_eq!(l.rings.kernel_receive(&pkts), 3, "round {round}");
        assert_eq!(received(&mut l).unwrap(), pkts, "round {round}");
        assert_eq!(send(&mut l, &pkts).unwrap(), 3, "round {round}");
        assert_eq!(l.rings.kernel_transmit(usize::MAX), pkts, "round {round}");
        census(&l);
    }
    for r in [&l.rings.fill, &l.rings.rx, &l.rings.tx, &l.rings.comp] {
        assert!(r.producer < start && r.consumer < start, "wrapped");
    }
}

/// Writes `bytes` into the lent frame `d` in place, as a batch does.
fn write_lent(l: &mut Ledger<MemRings>, d: &mut Desc, bytes: &[u8]) {
    let at = d.addr as usize;
    l.rings.umem[at..at + bytes.len()].copy_from_slice(bytes);
    d.len = bytes.len() as u32;
}

#[test]
fn lent_frames_go_out_as_written_and_come_back_to_the_free_list() {
    let mut l = ledger(16, 8, 0, 4);
    let mut lent = Vec::new();
    l.lend(&mut lent, 2);
    assert_eq!(
        (lent.len(), l.tx_frames_free()),
        (6, 2),
        "all but the reserve"
    );
    census_lent(&l, &lent);
    let pkts: Vec<_> = (0..3).map(|i| packet(i, 10 + i)).collect();
    for (d, p) in lent.iter_mut().zip(&pkts) {
        write_lent(&mut l, d, p);
    }
    l.rings.tx.need_wakeup = true;
    // SAFETY: lent frames of this UMEM, each once, written, on no ring.
    let (sent, woken) = unsafe { l.submit(&lent[..3]) };
    assert_eq!((sent, woken.is_ok()), (3, true));
    assert_eq!(l.rings.tx_wakeups, 1);
    let unused = lent.split_off(3);
    census_lent(&l, &unused);
    assert_eq!(
        l.rings.kernel_transmit(8),
        pkts,
        "the bytes written in place"
    );
    // Completed frames are lent again; the unused stay lent.
    let mut more = unused;
    l.lend(&mut more, 2);
    assert_eq!((more.len(), l.tx_frames_free()), (6, 2));
    census_lent(&l, &more);
}

/// A failed wake still says how many lent frames went: they are on the
/// ring, the kernel's, and must not be lent again before they complete.
#[test]
fn a_failed_tx_wake_still_counts_the_lent_frames_that_went() {
    let mut l = ledger(16, 8, 0, 4);
    let mut lent = Vec::new();
    l.lend(&mut lent, 2);
    let pkts: Vec<_> = (0..3).map(|i| packet(i, 10 + i)).collect();
    for (d, p) in lent.iter_mut().zip(&pkts) {
        write_lent(&mut l, d, p);
    }
    l.rings.tx.need_wakeup = true;
    l.rings.wakeups_fail = true;
    // SAFETY: lent frames of this UMEM, each once, written, on no ring.
    let (sent, woken) = unsafe { l.submit(&lent[..3]) };
    assert_eq!((sent, woken.is_err()), (3, true));
    let unused = lent.split_off(3);
    census_lent(&l, &unused);
    assert_eq!(l.rings.kernel_transmit(8), pkts);
}

/// One step of a random run: the kernel's or ours.
#[derive(Debug, Clone)]
enum Op {
    /// The kernel receives packets of these lengths.
    Receive(Vec<usize>),
    /// We receive one batch.
    Recv,
    /// We send frames of these lengths (some oversized).
    Send(Vec<usize>),
    /// The kernel transmits up to this many frames.
    Transmit(usize),
    /// The kernel sets or clears its need-wakeup flags.
    Flags(bool, bool),
    /// A batch is lent all free frames but this many.
    Lend(usize),
    /// The batch writes frames of these lengths into its lent frames and
    /// submits them.
    Submit(Vec<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec(1..=FRAME, 0..12).prop_map(Op::Receive),
        3 => Just(Op::Recv),
        3 => prop::collection::vec(1..=FRAME + 8, 0..12).prop_map(Op::Send),
        3 => (0usize..12).prop_map(Op::Transmit),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(f, t)| Op::Flags(f, t)),
        2 => (0usize..8).prop_map(Op::Lend),
        2 => prop::collection::vec(1..=FRAME, 0..12).prop_map(Op::Submit),
    ]
}

proptest! {
    /// Over random runs, with rings smaller or larger than a UMEM half and
    /// indices anywhere (near the wrap included): no frame is ever in two
    /// places or on the wrong path, every packet delivered is received once
    /// in order, every frame accepted is transmitted once with its bytes,
    /// and `send` accepts exactly what the free frames, the ring's room and
    /// the leading frames that fit allow.
    #[test]
    fn no_frame_is_ever_in_two_places(
        frames_log2 in 1u32..6,
        ring_log2 in 0u32..5,
        batch_pick in 1usize..32,
        start in prop_oneof![Just(0u32), u32::MAX - 40..=u32::MAX, any::<u32>()],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let frames = 1u32 << frames_log2;
        let batch = 1 + (batch_pick - 1) % (frames as usize / 2);
        let mut l = ledger(frames, 1 << ring_log2, start, batch);
        census(&l);
        let mut to_receive: VecDeque<Vec<u8>> = VecDeque::new();
        let mut to_transmit: VecDeque<Vec<u8>> = VecDeque::new();
        let mut serial = 0;
        // Frames lent to a batch, as its slots hold them.
        let mut lent: Vec<Desc> = Vec::new();
        for op in ops {
            match op {
                Op::Receive(lens) => {
                    let pkts: Vec<_> = lens
                        .iter()
                        .map(|&n| {
                            serial += 1;
                            packet(serial, n)
                        })
                        .collect();
                    let n = l.rings.kernel_receive(&pkts);
                    let expect = pkts
                        .len()
                        .min(l.rings.fill.len() as usize + n)
                        .min(l.rings.rx.room() as usize + n);
                    prop_assert_eq!(n, expect);
                    to_receive.extend(pkts.into_iter().take(n));
                }
                Op::Recv => {
                    let waiting = l.rings.rx.len() as usize;
                    let got = received(&mut l).unwrap();
                    prop_assert_eq!(got.len(), waiting.min(batch));
                    for g in got {
                        prop_assert_eq!(Some(g), to_receive.pop_front());
                    }
                    prop_assert_eq!(l.rings.comp.len(), 0, "reaped");
                }
                Op::Send(lens) => {
                    let pkts: Vec<_> = lens
                        .iter()
                        .map(|&n| {
                            serial += 1;
                            packet(serial, n)
                        })
                        .collect();
                    let free = l.tx_free.len() + l.rings.comp.len() as usize;
                    let room = (l.rings.tx.room() as usize).min(free);
                    let fit = pkts.iter().take_while(|p| p.len() <= FRAME).count();
                    let res = send(&mut l, &pkts);
                    let mut accepted = 0;
                    if room > 0 && fit == 0 && !pkts.is_empty() {
                        let refused = matches!(res, Err(Error::FrameTooLarge { .. }));
                        prop_assert!(refused, "{:?}", res);
                    } else {
                        accepted = res.unwrap();
                        prop_assert_eq!(accepted, room.min(fit));
                        to_transmit.extend(pkts.into_iter().take(accepted));
                    }
                    prop_assert_eq!(l.tx_free.len(), free - accepted);
                }
                Op::Transmit(max) => {
                    for sent in l.rings.kernel_transmit(max) {
                        prop_assert_eq!(Some(sent), to_transmit.pop_front());
                    }
                }
                Op::Flags(fill, tx) => {
                    l.rings.fill.need_wakeup = fill;
                    l.rings.tx.need_wakeup = tx;
                }
                Op::Lend(reserve) => {
                    let free = l.tx_free.len() + l.rings.comp.len() as usize;
                    let before = lent.len();
                    l.lend(&mut lent, reserve);
                    prop_assert_eq!(lent.len() - before, free.saturating_sub(reserve));
                    prop_assert_eq!(l.rings.comp.len(), 0, "reaped");
                }
                Op::Submit(lens) => {
                    let n = lens.len().min(lent.len());
                    for (i, &len) in lens.iter().take(n).enumerate() {
                        serial += 1;
                        let mut d = lent[i];
                        write_lent(&mut l, &mut d, &packet(serial, len));
                        lent[i] = d;
                    }
                    let room = l.rings.tx.room() as usize;
                    // SAFETY: lent frames of this UMEM, each once, written,
                    // on no ring.
                    let (sent, woken) = unsafe { l.submit(&lent[..n]) };
                    woken.unwrap();
                    prop_assert_eq!(sent, n.min(room));
                    for d in lent.drain(..sent) {
                        to_transmit.push_back(l.rings.bytes(d).to_vec());
                    }
                }
            }
            census_lent(&l, &lent);
        }
        // Drain: the kernel sends the rest and we take every packet.
        for sent in l.rings.kernel_transmit(usize::MAX) {
            prop_assert_eq!(Some(sent), to_transmit.pop_front());
        }
        prop_assert!(to_transmit.is_empty());
        while l.rings.rx.len() > 0 {
            for g in received(&mut l).unwrap() {
                prop_assert_eq!(Some(g), to_receive.pop_front());
            }
        }
        prop_assert!(to_receive.is_empty());
        received(&mut l).unwrap();
        census_lent(&l, &lent);
        prop_assert_eq!(l.tx_frames_free() + lent.len(), frames as usize / 2);
    }
}
