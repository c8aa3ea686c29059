"""The Linux machine around the simulated kernel: the system-wide files Linux readers expect
that the kernel model has no facts for, shown as an idle Linux 6.x machine would show them.

The simulated machine has the host's disks and interfaces (machine_devices.py), idle and without
addresses, no swap, no memory pressure and one NUMA node.  Where the model does have the facts, they come from it: the object
counts of `slabinfo` (the kernel's live RefCounted objects, by class), the timer interrupts
(the simulated clock), open files (`sys/fs/file-nr`), the process limit (`threads-max`).

Formats are Linux 6.x's (fs/proc, net/ipv4/proc.c, net/core/net-procfs.c, mm/vmstat.c,
kernel/sched/psi.c), as node_exporter, psutil, procps, sysstat and util-linux parse them.
"""
from __future__ import annotations

import uuid

from kernel_model import Kernel

from .component import Caller, GlobalDirectory, GlobalFile, Node, fixed_file, text_lines
from .linux_kernel_tables import LinuxKernelTables
from .linux_memory import LinuxMemory
from .machine_devices import DEFAULT, MachineDevices

HZ = 250  # the timer interrupt rate the LOC row counts at (CONFIG_HZ_250, Debian's)
SOFTIRQS = ("HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU")

FILESYSTEMS = [("nodev", "sysfs"), ("nodev", "tmpfs"), ("nodev", "proc"), ("nodev", "cgroup2"),
               ("nodev", "devtmpfs"), ("nodev", "sockfs"), ("nodev", "pipefs"), ("nodev", "ramfs"),
               ("nodev", "devpts"), ("", "ext4"), ("", "fuseblk"), ("nodev", "fuse"), ("nodev", "fusectl")]
CGROUP_CONTROLLERS = ("cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
                      "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc")

# net/snmp and net/netstat: pairs of a header line and a value line per protocol.
SNMP = {
    "Ip": "Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards "
          "InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs "
          "FragFails FragCreates OutTransmits",
    "Icmp": "InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos "
            "InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal "
            "OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos "
            "OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps",
    "Tcp": "RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs "
           "OutSegs RetransSegs InErrs OutRsts InCsumErrors",
    "Udp": "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    "UdpLite": "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti "
               "MemErrors",
}
# Linux's fixed values on an idle machine: IP forwarding off (2), TTL 64, TCP's RTO algorithm and
# bounds, and MaxConn -1 (no limit).
SNMP_FIXED = {("Ip", "Forwarding"): 2, ("Ip", "DefaultTTL"): 64, ("Tcp", "RtoAlgorithm"): 1,
              ("Tcp", "RtoMin"): 200, ("Tcp", "RtoMax"): 120000, ("Tcp", "MaxConn"): -1}
NETSTAT = {
    "TcpExt": "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned "
              "OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled "
              "PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait "
              "DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits "
              "TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging "
              "TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo "
              "TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures "
              "TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery "
              "TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce "
              "TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData "
              "TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed "
              "TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld "
              "TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected "
              "TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop "
              "PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter "
              "TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail "
              "TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge "
              "TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail "
              "TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole "
              "TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv "
              "TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent "
              "TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect "
              "TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq "
              "TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe "
              "TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE "
              "TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig "
              "TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs "
              "TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash "
              "TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps",
    "IpExt": "InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts "
             "InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets "
             "InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps",
    "MPTcpExt": "MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX "
                "MPCapableFallbackACK MPCapableFallbackSYNACK MPCapableSYNTXDrop "
                "MPCapableSYNTXDisabled MPCapableEndpAttempt MPFallbackTokenInit MPTCPRetrans "
                "MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx "
                "MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure "
                "MPJoinRejected MPJoinSynTx MPJoinSynTxCreatSkErr MPJoinSynTxBindErr "
                "MPJoinSynTxConnectErr DSSNotMatching DSSCorruptionFallback DSSCorruptionReset "
                "InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue "
                "OFOMerge NoDSSInWindow DuplicateData AddAddr AddAddrTx AddAddrTxDrop EchoAdd "
                "EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx "
                "MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx "
                "RmAddrTxDrop RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx MPFastcloseTx "
                "MPFastcloseRx MPRstTx MPRstRx SubflowStale SubflowRecover SndWndShared "
                "RcvWndShared RcvWndConflictUpdate RcvWndConflict MPCurrEstab Blackhole "
                "MPCapableDataFallback MD5SigFallback DssFallback SimultConnectFallback "
                "FallbackFailed WinProbe",
}
# The headers of the socket tables; an idle machine has no sockets, so each is its header alone.
SOCKET_TABLES = {
    "tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "udp": "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode "
           "ref pointer drops",
    "raw": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode "
           "ref pointer drops",
    "tcp6": "  sl  local_address                         remote_address                        st tx_queue "
            "rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "udp6": "  sl  local_address                         remote_address                        st tx_queue "
            "rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
    "raw6": "  sl  local_address                         remote_address                        st tx_queue "
            "rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
    "unix": "Num       RefCount Protocol Flags    Type St Inode Path",
    "arp": "IP address       HW type     Flags       HW address            Mask     Device",
    "route": "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
}

NET_STAT = {
    "nf_conntrack": "entries clashres found new invalid ignore delete chainlength insert insert_failed drop "
                    "early_drop icmp_error expect_new expect_create expect_delete search_restart",
    "arp_cache": "entries allocs destroys hash_grows lookups hits res_failed rcv_probes_mcast rcv_probes_ucast "
                 "periodic_gc_runs forced_gc_runs unresolved_discards table_fulls",
}

# crypto: a few of the algorithms every x86_64 kernel registers, as crypto/proc.c prints them.
_SHASH = [("type", "shash"), ("blocksize", "{block}"), ("digestsize", "{digest}"), ("", "")]
CRYPTO = [
    [("name", name), ("driver", driver), ("module", "kernel"), ("priority", priority), ("refcnt", "1"),
     ("selftest", "passed"), ("internal", "no")]
    + [(key, value.format(block=block, digest=digest)) for key, value in _SHASH]
    for name, driver, priority, block, digest in [
        ("crc32c", "crc32c-generic", "100", "1", "4"), ("sha256", "sha256-generic", "100", "64", "32"),
        ("sha1", "sha1-generic", "100", "64", "20")]
] + [[("name", "aes"), ("driver", "aes-generic"), ("module", "kernel"), ("priority", "100"), ("refcnt", "1"),
      ("selftest", "passed"), ("internal", "no"), ("type", "cipher"), ("blocksize", "16"),
      ("min keysize", "16"), ("max keysize", "32"), ("", "")]]
# misc: the character devices of major 10, minors from Documentation/admin-guide/devices.txt,
# newest registration first; fuse is the one procsim itself stands on.
MISC = [(229, "fuse"), (237, "loop-control"), (236, "device-mapper"), (235, "autofs"), (183, "hw_random")]
# devices: the character majors of a minimal x86_64 machine (Documentation/admin-guide/devices.txt).
CHARACTER_MAJORS = [(1, "mem"), (4, "/dev/vc/0"), (4, "tty"), (4, "ttyS"), (5, "/dev/tty"),
                    (5, "/dev/console"), (5, "/dev/ptmx"), (7, "vcs"), (10, "misc"), (13, "input"),
                    (128, "ptm"), (136, "pts")]
# cpuinfo: one virtual CPU model; lm (long mode) makes lscpu say 64-bit.
CPU_FLAGS = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 " \
            "ht syscall nx lm constant_tsc rep_good nopl cpuid pni ssse3 cx16 sse4_1 sse4_2 popcnt hypervisor"




def _pairs(tables: dict[str, str], fixed: dict[tuple[str, str], int] | None = None) -> list[str]:
    lines = []
    for proto, keys in tables.items():
        names = keys.split()
        values = [str((fixed or {}).get((proto, key), 0)) for key in names]
        lines += [f"{proto}: {' '.join(names)}", f"{proto}: {' '.join(values)}"]
    return lines


class LinuxMachine:
    """Builds the Linux machine's system-wide entries over one kernel."""

    def __init__(self, kernel: Kernel, devices: MachineDevices = DEFAULT) -> None:
        self.kernel = kernel
        self.devices = devices
        self.memory = LinuxMemory(kernel)
        self.tables = LinuxKernelTables(kernel)

    # -- the root's files ------------------------------------------------------------------------
    def root_entries(self) -> list[Node]:
        """Those the two personalities share (not `interrupts` and `net/`: see net_directory)."""
        f = GlobalFile
        return [
            fixed_file("filesystems", [f"{dev}\t{name}" for dev, name in FILESYSTEMS]),
            # The host's disks, idle (readers such as procinfo abort on an empty table; the default
            # machine has one RAM disk).  partitions lists those with a size, as Linux does.
            fixed_file("diskstats", [f"{d.major:>4} {d.minor:>7} {d.name}" + " 0" * 17 for d in self.devices.disks]),
            fixed_file("partitions", ["major minor  #blocks  name", ""]
                    + [f"{d.major:>4} {d.minor:>8} {d.sectors // 2:>10} {d.name}"
                       for d in self.devices.disks if d.sectors]),
            fixed_file("swaps", ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]),
            fixed_file("locks", []),
            fixed_file("cgroups", ["#subsys_name\thierarchy\tnum_cgroups\tenabled"]
                    + [f"{name}\t0\t1\t1" for name in CGROUP_CONTROLLERS]),
            f("buddyinfo", self.buddyinfo),
            f("zoneinfo", self.zoneinfo),
            f("slabinfo", self.slabinfo, 0o400),
            f("softirqs", self.softirqs),
            f("kmsg", self.kmsg, 0o400),
            fixed_file("consoles", [f"{'tty0':<21}-WU (EC  p  )    4:1"]),
            fixed_file("crypto", [f"{key:<13}: {value}" if key else "" for block in CRYPTO for key, value in block]),
            fixed_file("misc", [f"{minor:>3} {name}" for minor, name in MISC]),
            # 0666 as on Linux, where a write sets a trigger (writing here answers EROFS)
            GlobalDirectory("pressure", [fixed_file(name, [f"{kind} avg10=0.00 avg60=0.00 avg300=0.00 total=0"
                                                        for kind in ("some", "full")], 0o666)
                                         for name in ("cpu", "io", "memory")]),
            *self.tables.root_entries(),
        ]

    def kmsg(self, caller: Caller) -> bytes:
        """The log lines no reader has consumed, consumed by this open (each line once, to one
        reader, as syslog(SYSLOG_ACTION_READ) hands them), each with its level: `<6>` (info).
        Where Linux would block for the next line, procsim answers end of file."""
        return text_lines([f"<6>{line}" for line in self.kernel.syslog_read()])

    def devices_text(self, caller: Caller) -> bytes:
        """Linux's /proc/devices: the character majors, then the disks' block majors."""
        return text_lines(["Character devices:", *(f"{major:>3} {name}" for major, name in CHARACTER_MAJORS), "",
                      "Block devices:", *(f"{major:>3} {name}" for major, name in self.devices.block_majors)])

    def cpuinfo(self, caller: Caller) -> bytes:
        """Linux's x86 cpuinfo block per CPU, every key Linux 6.x writes (arch/x86/kernel/cpu/proc.c)."""
        n = self.kernel.ncpus
        blocks = []
        for cpu in range(n):
            blocks.append(
                f"processor\t: {cpu}\nvendor_id\t: SerenityOS\ncpu family\t: 6\nmodel\t\t: 1\n"
                f"model name\t: procsim virtual CPU\nstepping\t: 1\nmicrocode\t: 0x1\ncpu MHz\t\t: 2000.000\n"
                f"cache size\t: 4096 KB\nphysical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {cpu}\n"
                f"cpu cores\t: {n}\napicid\t\t: {cpu}\ninitial apicid\t: {cpu}\nfpu\t\t: yes\n"
                f"fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: {CPU_FLAGS}\n"
                f"bugs\t\t:\nbogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\n"
                f"address sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n")
        return "".join(blocks).encode()

    def interrupts(self, caller: Caller) -> bytes:
        """Linux's table: one column per CPU; the timer counts at HZ on every CPU."""
        ncpus = self.kernel.ncpus
        local = int(self.kernel.uptime_seconds() * HZ)
        rows = [("0", [local if cpu == 0 else 0 for cpu in range(ncpus)], "IO-APIC   2-edge      timer"),
                ("1", [0] * ncpus, "IO-APIC   1-edge      i8042"),
                ("14", [0] * ncpus, "IO-APIC  14-edge      ata_piix"),
                ("NMI", [0] * ncpus, "Non-maskable interrupts"),
                ("LOC", [local] * ncpus, "Local timer interrupts"),
                ("RES", [0] * ncpus, "Rescheduling interrupts")]
        lines = [" " * 11 + "".join(f"CPU{cpu:<8}" for cpu in range(ncpus)).rstrip()]
        for name, counts, what in rows:
            lines.append(f"{name + ':':>4}" + "".join(f" {n:>10}" for n in counts) + f"   {what}")
        lines.append(f"{'ERR:':>4} {0:>10}")
        return text_lines(lines)

    def interrupt_total(self) -> int:
        """The sum of the table, for /proc/stat's `intr` line (timer on CPU0 plus LOC on each)."""
        return int(self.kernel.uptime_seconds() * HZ) * (1 + self.kernel.ncpus)

    def softirq_counts(self) -> list[int]:
        """Per CPU, in SOFTIRQS order: the timer's softirqs (TIMER, SCHED, RCU) at HZ."""
        timer = int(self.kernel.uptime_seconds() * HZ)
        return [timer if name in ("TIMER", "RCU", "SCHED") else 0 for name in SOFTIRQS]

    def softirqs(self, caller: Caller) -> bytes:
        ncpus = self.kernel.ncpus
        lines = [" " * 20 + "".join(f"CPU{cpu:<8}" for cpu in range(ncpus)).rstrip()]
        for name, count in zip(SOFTIRQS, self.softirq_counts(), strict=True):
            lines.append(f"{name + ':':>12}" + "".join(f" {count:>10}" for _ in range(ncpus)))
        return text_lines(lines)

    def softirq_line(self) -> str:
        """/proc/stat's `softirq` line: the total, then each kind over all CPUs."""
        counts = [n * self.kernel.ncpus for n in self.softirq_counts()]
        return " ".join(["softirq", str(sum(counts)), *map(str, counts)])

    def _free_pages(self) -> tuple[int, int]:
        with self.kernel.lock:
            counters = self.kernel.mm.counters()
        return counters["total"] - counters["used"], counters["total"]

    def buddyinfo(self, caller: Caller) -> bytes:
        """Free pages by order: the model's pool has no buddy allocator, so every free page is
        counted as order 0 (the total, which is what readers sum, is right)."""
        free, _ = self._free_pages()
        return text_lines([f"Node 0, zone   Normal {free:>6}" + "".join(f" {0:>6}" for _ in range(10))])

    def zoneinfo(self, caller: Caller) -> bytes:
        free, total = self._free_pages()
        return text_lines([
            "Node 0, zone   Normal", "  per-node stats", f"      nr_free_pages {free}",
            f"  pages free     {free}", "        boost    0", "        min      0", "        low      0",
            "        high     0", f"        spanned  {total}", f"        present  {total}",
            f"        managed  {total}", "        cma      0", "        protection: (0, 0, 0, 0, 0)",
            "  pagesets", "    cpu: 0", "              count: 0", "              high:  0",
            "              batch: 1", "  node_unreclaimable:  0", "  start_pfn:           1"])

    def slabinfo(self, caller: Caller) -> bytes:
        """One cache per class of the kernel's live RefCounted objects (Process, Region,
        AnonymousVMObject...): what the model allocates, counted as Linux counts slab objects."""
        counts: dict[str, int] = {}
        for obj in self.kernel.registry.objects():
            name = type(obj).__name__
            counts[name] = counts.get(name, 0) + 1
        lines = ["slabinfo - version: 2.1",
                 "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
                 "tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
                 "<sharedavail>"]
        size, per_slab = 256, 16
        for name in sorted(counts):
            n = counts[name]
            slabs = -(-n // per_slab)
            lines.append(f"{name:<17} {n:>6} {slabs * per_slab:>6} {size:>6} {per_slab:>4} {1:>4} : "
                         f"tunables {0:>4} {0:>4} {0:>4} : slabdata {slabs:>6} {slabs:>6} {0:>6}")
        return text_lines(lines)

    # -- sys/ ------------------------------------------------------------------------------------
    def sys_entries(self) -> dict[str, list[Node]]:
        """Linux's sysctl files, by sys/ subdirectory."""
        kernel = self.kernel
        f = GlobalFile
        return {
            "kernel": [
                f("threads-max", lambda c: f"{kernel.max_processes}\n".encode(), 0o644),
                GlobalDirectory("random", [
                    fixed_file("entropy_avail", ["256"]), fixed_file("poolsize", ["256"]),
                    fixed_file("boot_id", ["5e1ec7ed-0000-4000-8000-000000000001"]),
                    f("uuid", lambda c: f"{uuid.uuid4()}\n".encode()),  # a new one at each read
                    fixed_file("urandom_min_reseed_secs", ["60"], 0o644),
                    fixed_file("write_wakeup_threshold", ["896"], 0o644),
                ]),
            ],
            "vm": self.memory.sys_vm(),
            **self.tables.sys_entries(),
            "fs": [f("file-nr", self.file_nr), fixed_file("file-max", ["9223372036854775807"], 0o644),
                   fixed_file("nr_open", ["1048576"], 0o644)],
            "net": [GlobalDirectory("netfilter", [fixed_file("nf_conntrack_count", ["0"]),
                                                  fixed_file("nf_conntrack_max", ["65536"], 0o644)])],
        }

    def file_nr(self, caller: Caller) -> bytes:
        """Allocated file handles (open file descriptions, shared ones once), 0 free, the maximum."""
        with self.kernel.lock:
            descriptions = {id(entry.description) for p in self.kernel.processes.values()
                            for entry in p.fds.values()}
        return f"{len(descriptions)}\t0\t9223372036854775807\n".encode()

    # -- net/ ------------------------------------------------------------------------------------
    def net_directory(self) -> GlobalDirectory:
        return GlobalDirectory("net", self.net_entries(self.kernel.ncpus))

    def net_entries(self, ncpus: int) -> list[Node]:
        rows = [f"{name + ':':>7}" + "".join(f" {0:>7}" for _ in range(16)) for name in self.devices.interfaces]
        entries: list[Node] = [
            fixed_file("dev", ["Inter-|   Receive                                                |  Transmit",
                            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
                            "packets errs drop fifo colls carrier compressed", *rows]),
            fixed_file("snmp", _pairs(SNMP, SNMP_FIXED)),
            fixed_file("netstat", _pairs(NETSTAT)),
            fixed_file("softnet_stat", [" ".join(["00000000"] * 12 + [f"{cpu:08x}", "00000000", "00000000"])
                                     for cpu in range(ncpus)]),
            fixed_file("sockstat", ["sockets: used 0", "TCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0",
                                 "UDP: inuse 0 mem 0", "UDPLITE: inuse 0", "RAW: inuse 0", "FRAG: inuse 0 memory 0"]),
            fixed_file("sockstat6", ["TCP6: inuse 0", "UDP6: inuse 0", "UDPLITE6: inuse 0", "RAW6: inuse 0",
                                  "FRAG6: inuse 0 memory 0"]),
            fixed_file("if_inet6", list(self.devices.ipv6_rows)),
            fixed_file("protocols", ["protocol  size sockets  memory press maxhdr  slab module     cl co di ac io "
                                  "in de sh ss gs se re sp bi br ha uh gp em"]),
        ]
        entries += [fixed_file(name, [header]) for name, header in SOCKET_TABLES.items()]
        # net/stat/: per-CPU counters of the kernel's network caches, one hex row per CPU.
        entries.append(GlobalDirectory("stat", [
            fixed_file(name, [header] + [" ".join(["00000000"] * len(header.split()))] * ncpus)
            for name, header in NET_STAT.items()]))
        return entries

