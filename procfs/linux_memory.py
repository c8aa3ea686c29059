"""The Linux machine's memory files: `meminfo`, `vmstat` and `sys/vm/`, over the model's page pool.

Every key Linux 6.x writes is there (free, vmstat, sar, node_exporter and psutil look keys up by
name, and some abort on a missing one); where the model has the fact it is the model's:
- the pool's pages: total, free, where the used ones are (anonymous, volatile, file cache);
- commit accounting: SerenityOS commits every anonymous page at allocation and refuses what the
  pool cannot hold, which is Linux's strict mode (`overcommit_memory` 2) with a ratio of 100, so
  `CommitLimit` is the whole pool (a COW fork's lazy pages are the one overcommit, docs/memory.md);
- events since boot (`pgfault`, `pgmajfault`, `oom_kill`, and purged volatile pages as
  `pglazyfreed`: SerenityOS's volatile memory is what Linux's MADV_FREE is).
The rest is an idle machine without swap, huge pages or NUMA: zero.
"""
from __future__ import annotations

import errno
from typing import Callable

from kernel_model import Kernel

from .component import Caller, GlobalFile, Node, ProcFSError

PAGE_KB = 4

#: meminfo's keys in Linux 6.x's order (fs/proc/meminfo.c; hugetlb_report_meminfo; arch_report_meminfo).
MEMINFO_KEYS = (
    "MemTotal MemFree MemAvailable Buffers Cached SwapCached Active Inactive Active(anon) Inactive(anon) "
    "Active(file) Inactive(file) Unevictable Mlocked SwapTotal SwapFree Zswap Zswapped Dirty Writeback "
    "AnonPages Mapped Shmem KReclaimable Slab SReclaimable SUnreclaim KernelStack PageTables SecPageTables "
    "NFS_Unstable Bounce WritebackTmp CommitLimit Committed_AS VmallocTotal VmallocUsed VmallocChunk Percpu "
    "AnonHugePages ShmemHugePages ShmemPmdMapped FileHugePages FilePmdMapped Balloon HugePages_Total "
    "HugePages_Free HugePages_Rsvd HugePages_Surp Hugepagesize Hugetlb DirectMap4k DirectMap2M DirectMap1G"
).split()
#: Counts of huge pages, written without a unit.
UNITLESS = {"HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"}
VMALLOC_TOTAL_KB = 34359738367  # x86_64's vmalloc area: a constant of the architecture

#: vmstat's keys in Linux 6.x's order (mm/vmstat.c: vmstat_text).
VMSTAT_KEYS = (
    "nr_free_pages nr_free_pages_blocks nr_zone_inactive_anon nr_zone_active_anon nr_zone_inactive_file "
    "nr_zone_active_file nr_zone_unevictable nr_zone_write_pending nr_mlock nr_zspages nr_free_cma numa_hit "
    "numa_miss numa_foreign numa_interleave numa_local numa_other nr_inactive_anon nr_active_anon "
    "nr_inactive_file nr_active_file nr_unevictable nr_slab_reclaimable nr_slab_unreclaimable "
    "nr_isolated_anon nr_isolated_file workingset_nodes workingset_refault_anon workingset_refault_file "
    "workingset_activate_anon workingset_activate_file workingset_restore_anon workingset_restore_file "
    "workingset_nodereclaim nr_anon_pages nr_mapped nr_file_pages nr_dirty nr_writeback nr_shmem "
    "nr_shmem_hugepages nr_shmem_pmdmapped nr_file_hugepages nr_file_pmdmapped nr_anon_transparent_hugepages "
    "nr_vmscan_write nr_vmscan_immediate_reclaim nr_dirtied nr_written nr_throttled_written "
    "nr_kernel_misc_reclaimable nr_foll_pin_acquired nr_foll_pin_released nr_kernel_stack "
    "nr_page_table_pages nr_sec_page_table_pages nr_iommu_pages nr_swapcached pgpromote_success "
    "pgpromote_candidate pgpromote_candidate_nrl pgdemote_kswapd pgdemote_direct pgdemote_khugepaged "
    "pgdemote_proactive nr_hugetlb nr_balloon_pages nr_kernel_file_pages nr_dirty_threshold "
    "nr_dirty_background_threshold nr_memmap_pages nr_memmap_boot_pages pgpgin pgpgout pswpin pswpout "
    "pgalloc_dma pgalloc_dma32 pgalloc_normal pgalloc_movable pgalloc_device allocstall_dma allocstall_dma32 "
    "allocstall_normal allocstall_movable allocstall_device pgskip_dma pgskip_dma32 pgskip_normal "
    "pgskip_movable pgskip_device pgfree pgactivate pgdeactivate pglazyfree pgfault pgmajfault pglazyfreed "
    "pgrefill pgreuse pgsteal_kswapd pgsteal_direct pgsteal_khugepaged pgsteal_proactive pgscan_kswapd "
    "pgscan_direct pgscan_khugepaged pgscan_proactive pgscan_direct_throttle pgscan_anon pgscan_file "
    "pgsteal_anon pgsteal_file zone_reclaim_success zone_reclaim_failed pginodesteal slabs_scanned "
    "kswapd_inodesteal kswapd_low_wmark_hit_quickly kswapd_high_wmark_hit_quickly pageoutrun pgrotated "
    "drop_pagecache drop_slab oom_kill numa_pte_updates numa_huge_pte_updates numa_hint_faults "
    "numa_hint_faults_local numa_pages_migrated pgmigrate_success pgmigrate_fail thp_migration_success "
    "thp_migration_fail thp_migration_split compact_migrate_scanned compact_free_scanned compact_isolated "
    "compact_stall compact_fail compact_success compact_daemon_wake compact_daemon_migrate_scanned "
    "compact_daemon_free_scanned htlb_buddy_alloc_success htlb_buddy_alloc_fail unevictable_pgs_culled "
    "unevictable_pgs_scanned unevictable_pgs_rescued unevictable_pgs_mlocked unevictable_pgs_munlocked "
    "unevictable_pgs_cleared unevictable_pgs_stranded thp_fault_alloc thp_fault_fallback "
    "thp_fault_fallback_charge thp_collapse_alloc thp_collapse_alloc_failed thp_file_alloc thp_file_fallback "
    "thp_file_fallback_charge thp_file_mapped thp_split_page thp_split_page_failed thp_deferred_split_page "
    "thp_underused_split_page thp_split_pmd thp_scan_exceed_none_pte thp_scan_exceed_swap_pte "
    "thp_scan_exceed_share_pte thp_split_pud thp_zero_page_alloc thp_zero_page_alloc_failed thp_swpout "
    "thp_swpout_fallback balloon_inflate balloon_deflate balloon_migrate swap_ra swap_ra_hit swpin_zero "
    "swpout_zero ksm_swpin_copy cow_ksm zswpin zswpout zswpwb direct_map_level2_splits "
    "direct_map_level3_splits direct_map_level2_collapses direct_map_level3_collapses nr_unstable"
).split()

#: sys/vm/ as Linux 6.x lists it: (name, mode, value); None is the model's, filled in sys_vm().
#: A write-only sysctl (0200) cannot be read, even by root (proc_sys_permission asks the owner's bits).
SYS_VM: list[tuple[str, int, str | None]] = [
    ("admin_reserve_kbytes", 0o644, "8192"), ("compact_memory", 0o200, ""),
    ("compact_unevictable_allowed", 0o644, "1"), ("compaction_proactiveness", 0o644, "20"),
    ("defrag_mode", 0o644, "0"), ("dirty_background_bytes", 0o644, "0"),
    ("dirty_background_ratio", 0o644, "10"), ("dirty_bytes", 0o644, "0"),
    ("dirty_expire_centisecs", 0o644, "3000"), ("dirty_ratio", 0o644, "20"),
    ("dirty_writeback_centisecs", 0o644, "500"), ("dirtytime_expire_seconds", 0o644, "43200"),
    ("drop_caches", 0o200, ""), ("extfrag_threshold", 0o644, "500"),
    ("hugetlb_optimize_vmemmap", 0o644, "0"), ("hugetlb_shm_group", 0o644, "0"),
    ("laptop_mode", 0o644, "0"), ("legacy_va_layout", 0o644, "0"),
    ("lowmem_reserve_ratio", 0o644, "256\t256\t32\t0\t0"), ("max_map_count", 0o644, "65530"),
    ("memfd_noexec", 0o644, "0"), ("min_free_kbytes", 0o644, "0"), ("min_slab_ratio", 0o644, "5"),
    ("min_unmapped_ratio", 0o644, "1"), ("mmap_min_addr", 0o644, "4096"), ("mmap_rnd_bits", 0o600, "28"),
    ("mmap_rnd_compat_bits", 0o600, "8"), ("nr_hugepages", 0o644, "0"),
    ("nr_hugepages_mempolicy", 0o644, "0"), ("nr_overcommit_hugepages", 0o644, "0"),
    ("numa_stat", 0o644, "1"), ("numa_zonelist_order", 0o644, "Node"), ("oom_dump_tasks", 0o644, "1"),
    ("oom_kill_allocating_task", 0o644, "0"), ("overcommit_kbytes", 0o644, "0"),
    ("overcommit_memory", 0o644, None), ("overcommit_ratio", 0o644, None), ("page-cluster", 0o644, "3"),
    ("page_lock_unfairness", 0o644, "5"), ("panic_on_oom", 0o644, "0"),
    ("percpu_pagelist_high_fraction", 0o644, "0"), ("stat_interval", 0o644, "1"),
    ("shrink_inodes_with_pagecache", 0o644, "0"), ("stat_refresh", 0o600, ""), ("swappiness", 0o644, "60"),
    ("unprivileged_userfaultfd", 0o644, "0"),
    ("user_reserve_kbytes", 0o644, "0"), ("vfs_cache_pressure", 0o644, "100"),
    ("vfs_cache_pressure_denom", 0o644, "100"), ("watermark_boost_factor", 0o644, "15000"),
    ("watermark_scale_factor", 0o644, "10"),
    ("zone_reclaim_mode", 0o644, "0"),
]
#: The model's commit policy in Linux's terms: strict accounting (2) against the whole pool (100 %).
OVERCOMMIT = {"overcommit_memory": "2", "overcommit_ratio": "100"}


class LinuxMemory:
    """The memory files of the Linux machine over one kernel's page pool."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def _pool(self) -> tuple[dict[str, int], dict[str, int]]:
        with self.kernel.lock:
            return self.kernel.mm.counters(), self.kernel.mm.page_usage()

    def meminfo(self, caller: Caller) -> bytes:
        c, usage = self._pool()
        total = c["total"]
        anonymous, volatile, cache = usage["anonymous"], usage["volatile"], usage["inode"]
        pages = {
            "MemTotal": total, "MemFree": total - c["used"],
            # what an allocation could still get: the uncommitted pool, plus volatile pages a purge frees
            "MemAvailable": c["uncommitted"] + volatile,
            "Cached": cache, "Active": anonymous, "Inactive": volatile + cache,
            "Active(anon)": anonymous, "Inactive(anon)": volatile, "Inactive(file)": cache,
            "AnonPages": anonymous + volatile, "Mapped": cache,
            "CommitLimit": total, "Committed_AS": c["used"] + c["committed"],
            "DirectMap4k": total,  # the model maps its memory in 4 KiB pages only
        }
        kb = {key: value * PAGE_KB for key, value in pages.items()}
        kb.update(VmallocTotal=VMALLOC_TOTAL_KB, Hugepagesize=2048)
        lines = []
        for key in MEMINFO_KEYS:
            unit = "" if key in UNITLESS else " kB"
            lines.append(f"{key + ':':<16}{kb.get(key, 0):>8}{unit}\n")
        return "".join(lines).encode()

    def vmstat(self, caller: Caller) -> bytes:
        c, usage = self._pool()
        events = self.kernel.vm_events
        free = c["total"] - c["used"]
        anonymous, volatile, cache = usage["anonymous"], usage["volatile"], usage["inode"]
        values = {
            "nr_free_pages": free, "nr_zone_inactive_anon": volatile, "nr_zone_active_anon": anonymous,
            "nr_zone_inactive_file": cache, "nr_inactive_anon": volatile, "nr_active_anon": anonymous,
            "nr_inactive_file": cache, "nr_anon_pages": anonymous + volatile, "nr_mapped": cache,
            "nr_file_pages": cache, "pgfault": events.pgfault, "pgmajfault": events.pgmajfault,
            "pglazyfreed": events.pgpurged, "oom_kill": events.oom_kill,
        }
        return "".join(f"{key} {values.get(key, 0)}\n" for key in VMSTAT_KEYS).encode()

    def sys_vm(self) -> list[Node]:
        entries: list[Node] = []
        for name, mode, value in SYS_VM:
            text = OVERCOMMIT[name] if value is None else value
            entries.append(GlobalFile(name, _sysctl(name, text, mode), mode))
        return entries


def _sysctl(name: str, value: str, mode: int) -> Callable[[Caller], bytes]:
    content = f"{value}\n".encode() if value else b""  # stat_refresh reads empty

    def read(caller: Caller) -> bytes:
        if not mode & 0o400:
            raise ProcFSError(errno.EACCES, f"{name} is write-only")
        return content
    return read
