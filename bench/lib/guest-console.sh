# Drives a guest's serial console from bash (sourced by bench/disk/run.sh and
# bench/network/run.sh). One VM at a time: vm_start launches it with its console on a FIFO
# (stdin) and a log file (stdout and stderr), vm_cmd types a command once the shell is up and
# returns what it printed, vm_stop powers the guest off and checks the exit code.
#
# How a command's end is found: vm_cmd types `CMD; echo @@N-$?`. The echo of the typed line
# shows `@@N-$?` literally, the shell's output shows `@@N-<status>`, so the pattern `@@N-[0-9]+`
# matches only the latter (a command ending in '&' gets ` echo`, without the ';'). Commands
# must stay short (vm_cmd refuses more than 58 characters): BusyBox's line editor wraps lines
# past the console's 80 columns, and a wrapped echo would no longer be one line.
#
# The caller sets $vm_work (a private temporary directory) and calls vm_cleanup from its EXIT trap.

vm_pid=""
vm_fd=""
vm_log=""
vm_offset=0
vm_sequence=0
vm_output=""
vm_status=0

die() {
  echo "bench: $*" >&2
  exit 1
}

# vm_start LOG COMMAND...: starts a VM whose console is a FIFO we hold open (so it never sees
# end of input) and whose output goes to LOG.
vm_start() {
  vm_log="$1"
  shift
  [ -z "$vm_pid" ] || die "vm_start: a VM is already running"
  local fifo="$vm_work/console.in"
  rm -f "$fifo"
  mkfifo -m 600 "$fifo"
  # Opening read-write does not block, and keeps a writer so the VM's reads never hit EOF.
  exec {vm_fd}<>"$fifo"
  : >"$vm_log"
  "$@" <"$fifo" >"$vm_log" 2>&1 &
  vm_pid=$!
  vm_offset=0
  vm_sequence=0
}

vm_tail() {
  echo "---- last console lines ($vm_log) ----" >&2
  tail -n 25 "$vm_log" | tr -d '\r' >&2
  echo "--------" >&2
}

# vm_wait REGEX [TIMEOUT_SECONDS]: waits until the console output after the previous match
# matches the extended regular expression (within one line); later waits start after it.
# Sets vm_match to the matched text.
vm_wait() {
  local pattern="$1" timeout="${2:-120}" found deadline
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    found=$(tail -c +"$(( vm_offset + 1 ))" "$vm_log" | grep -a -b -o -m 1 -E -- "$pattern" | head -n 1 || true)
    if [ -n "$found" ]; then
      vm_match="${found#*:}"
      vm_offset=$(( vm_offset + ${found%%:*} + ${#vm_match} ))
      return 0
    fi
    if ! kill -0 "$vm_pid" 2>/dev/null; then
      vm_tail
      die "the VM ended while waiting for /$pattern/"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      vm_tail
      die "no /$pattern/ on the console within ${timeout} s"
    fi
    sleep 0.05
  done
}

# vm_cmd COMMAND [TIMEOUT_SECONDS] [may-fail]: types COMMAND at the prompt and waits for it to
# finish and for the next prompt. vm_output gets what it printed (without the echo of the
# typed line, carriage returns removed), vm_status its exit status. Dies when the command
# fails unless the third argument is "may-fail".
vm_cmd() {
  local command="$1" timeout="${2:-120}" may_fail="${3:-}" start
  [ "${#command}" -le 58 ] || die "vm_cmd: '$command' is too long for the console's line editor (keep it under 59 characters)"
  vm_sequence=$(( vm_sequence + 1 ))
  local tag="@@$vm_sequence-"
  start=$vm_offset
  # A command put in the background ends with '&', which takes no ';' after it.
  local separator='; '
  [ "${command: -1}" = '&' ] && separator=' '
  printf '%s%secho %s$?\n' "$command" "$separator" "$tag" >&"$vm_fd"
  vm_wait "${tag}[0-9]+|sh: syntax error" "$timeout"
  [ "$vm_match" != "sh: syntax error" ] || { vm_tail; die "the guest shell did not understand '$command'"; }
  vm_status="${vm_match#"$tag"}"
  # What lies between the typed line's echo and the status line is the command's output.
  vm_output=$(tail -c +"$(( start + 1 ))" "$vm_log" | head -c "$(( vm_offset - start ))" | tr -d '\r' \
    | awk -v tag="$tag" 'seen && index($0, tag) != 1 { print } index($0, tag "$?") { seen = 1 }')
  vm_wait '/ # ' 60
  if [ "$vm_status" != 0 ] && [ "$may_fail" != may-fail ]; then
    echo "$vm_output" >&2
    vm_tail
    die "guest command '$command' failed with status $vm_status"
  fi
}

# vm_stop [TIMEOUT_SECONDS]: powers the guest off and checks the VM process ends with code 0.
vm_stop() {
  local timeout="${1:-60}" deadline code
  printf 'poweroff -f\n' >&"$vm_fd"
  deadline=$(( $(date +%s) + timeout ))
  while kill -0 "$vm_pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      vm_tail
      die "the VM did not power off within ${timeout} s"
    fi
    sleep 0.1
  done
  code=0
  wait "$vm_pid" || code=$?
  vm_pid=""
  exec {vm_fd}>&-
  vm_fd=""
  if [ "$code" != 0 ]; then
    vm_tail
    die "the VM exited with code $code after poweroff"
  fi
}

# vm_cleanup: kills a VM still running (from the caller's EXIT trap).
vm_cleanup() {
  if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then
    kill "$vm_pid" 2>/dev/null || true
    sleep 0.5
    kill -9 "$vm_pid" 2>/dev/null || true
    wait "$vm_pid" 2>/dev/null || true
  fi
  vm_pid=""
}

# vm_header WHAT: the machine, date and engine, printed above each benchmark's table.
vm_header() {
  echo "== $1 =="
  echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host:    $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "vessel:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), --cpu-engine $engine"
  echo "qemu:    $(qemu-system-riscv64 --version | head -n 1)"
  echo "guest:   $(basename "$guest_dir")/Image + initrd.gz, $memory RAM, 1 hart"
}
