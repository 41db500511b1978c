// berth's default seccomp profile. Docker's profile is an allow-list of ~350 syscalls; this one
// blocks the same dangerous calls Docker leaves out for an unprivileged container (kernel
// modules, keyrings, clock, reboot, mount, namespaces, ptrace of others, bpf, ...), returning
// EPERM like Docker does.
export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number }[];
}

const BLOCKED = [
  'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module', 'finit_module',
  'fsconfig', 'fsmount', 'fsopen', 'fspick', 'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl',
  'kcmp', 'kexec_file_load', 'kexec_load', 'keyctl', 'lookup_dcookie', 'mbind', 'mount', 'mount_setattr',
  'move_mount', 'move_pages', 'name_to_handle_at', 'nfsservctl', 'open_by_handle_at', 'open_tree',
  'perf_event_open', 'pivot_root', 'process_vm_readv', 'process_vm_writev', 'query_module', 'quotactl',
  'quotactl_fd', 'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapoff', 'swapon',
  'sysfs', '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
];

export function defaultSeccompProfile(capabilities: string[]): SeccompProfile {
  // Like Docker, a capability that grants the power also lifts the block on its syscalls.
  const has = (c: string) => capabilities.includes(c);
  let blocked = BLOCKED;
  if (has('CAP_SYS_ADMIN')) blocked = blocked.filter((s) => !['mount', 'umount', 'umount2', 'unshare', 'setns', 'pivot_root', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'move_mount', 'open_tree', 'mount_setattr', 'quotactl', 'quotactl_fd', 'name_to_handle_at', 'open_by_handle_at', 'lookup_dcookie', 'perf_event_open', 'bpf'].includes(s));
  if (has('CAP_SYS_PTRACE')) blocked = blocked.filter((s) => !['process_vm_readv', 'process_vm_writev', 'kcmp'].includes(s));
  if (has('CAP_SYS_TIME')) blocked = blocked.filter((s) => !['settimeofday', 'stime', 'clock_settime', 'clock_adjtime'].includes(s));
  if (has('CAP_SYS_MODULE')) blocked = blocked.filter((s) => !['init_module', 'finit_module', 'delete_module'].includes(s));
  if (has('CAP_SYS_BOOT')) blocked = blocked.filter((s) => s !== 'reboot');
  if (has('CAP_SYS_RAWIO')) blocked = blocked.filter((s) => !['iopl', 'ioperm'].includes(s));
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: blocked, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}
