//! A global allocator that asks for transparent huge pages on large
//! allocations: the connection table, TIME-WAIT slab and timer wheel of a
//! worker with millions of records.
//!
//! Those are read in scattered order (every frame names an unrelated
//! tuple), so on 4 KiB pages nearly every lookup also misses the TLB, and on
//! a virtual machine the page walk behind a miss is itself several cache
//! misses. Where the kernel hands out huge pages only on request
//! (`/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`, the default
//! of many distributions), `madvise(MADV_HUGEPAGE)` is that request; where it
//! says `always` the advice changes nothing, and where `never`, nothing
//! either. Small allocations are left alone: a huge page for them would
//! only cost memory.

use std::alloc::{GlobalAlloc, Layout, System};

/// A huge page on x86-64 and on arm64 with 4 KiB base pages.
const HUGE_PAGE: usize = 2 << 20;

/// From this size on an allocation always holds at least one aligned huge
/// page, the only part the kernel can back with one.
const THRESHOLD: usize = 2 * HUGE_PAGE;

/// The system allocator, with huge pages asked for on allocations of
/// [`THRESHOLD`] and more. Register it in a binary with
/// `#[global_allocator] static A: synwave::io::HugePageAlloc = synwave::io::HugePageAlloc;`.
pub struct HugePageAlloc;

/// Asks for huge pages on the aligned huge pages inside `[ptr, ptr + len)`.
/// The advice is a hint: it fails (EINVAL) where the kernel has no
/// transparent huge pages, and the allocation is as good without it.
fn advise(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len < THRESHOLD {
        return;
    }
    // Not empty: `len` is at least THRESHOLD.
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + len) & !(HUGE_PAGE - 1);
    // SAFETY: errno is the calling thread's; saved and put back so that
    // allocating never changes what `last_os_error` reads after a failed
    // call elsewhere (the advice may fail, and callers ignore it).
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        // MADV_HUGEPAGE changes neither the contents nor the validity of
        // the range, which lies inside an allocation just made.
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        *errno = saved;
    }
}

// SAFETY: every call is System's with the same arguments; `advise` only
// hints at how the memory System returned is backed.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees on `layout` are System's.
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with `layout` (every allocation
        // here is System's).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller's guarantees on
        // `new_size` are System's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        // A grown table is usually in a new mapping, without the advice.
        advise(new, new_size);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VmFlags line of the mapping of /proc/self/smaps that holds `addr`.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = (lo..hi).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.trim().to_string());
                }
            }
        }
        None
    }

    /// Whether this kernel has transparent huge pages at all.
    fn kernel_has_thp() -> bool {
        std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists()
    }

    /// Allocates `layout` (zeroed if asked), grows it to `grow_to` if
    /// given, and asserts that its mapping is advised MADV_HUGEPAGE.
    fn check(layout: Layout, zeroed: bool, grow_to: Option<usize>) {
        // SAFETY: a non-zero size; freed below with the layout it has then.
        let mut ptr = unsafe {
            if zeroed {
                HugePageAlloc.alloc_zeroed(layout)
            } else {
                HugePageAlloc.alloc(layout)
            }
        };
        assert!(!ptr.is_null());
        let mut size = layout.size();
        if let Some(new_size) = grow_to {
            // SAFETY: `ptr` is live with `layout`; `new_size` is non-zero.
            ptr = unsafe { HugePageAlloc.realloc(ptr, layout, new_size) };
            assert!(!ptr.is_null());
            size = new_size;
        }
        let inner = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let flags = vm_flags(inner).expect("the allocation is in /proc/self/smaps");
        // SAFETY: `ptr` is live with this size and alignment.
        unsafe {
            HugePageAlloc.dealloc(ptr, Layout::from_size_align(size, layout.align()).unwrap())
        };
        // "hg": the mapping is advised MADV_HUGEPAGE (proc(5)).
        assert!(
            flags.split(' ').any(|f| f == "hg"),
            "no huge-page advice on the allocation: VmFlags {flags}"
        );
    }

    #[test]
    fn large_allocations_are_advised_huge_pages() {
        if !kernel_has_thp() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs on a kernel with transparent huge pages"
            );
            return;
        }
        check(Layout::from_size_align(THRESHOLD, 8).unwrap(), false, None);
        // Zeroed, as `vec![0; n]` allocates.
        check(
            Layout::from_size_align(3 * HUGE_PAGE, 64).unwrap(),
            true,
            None,
        );
        // A table that grows from small to large, as a Vec does.
        check(
            Layout::from_size_align(4096, 8).unwrap(),
            false,
            Some(5 * HUGE_PAGE),
        );
    }
}
