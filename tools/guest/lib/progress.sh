# Progress of the guest build's long steps (sourced by build-guest; not an input of the cache
# key: how progress is shown changes nothing in what is built).
#
# A step's tool writes one line per unit of work into its log (Kbuild prints `  CC      fs/open.o`
# per object, `tar -v` one line per file); counting those lines against the number the step
# is expected to make gives a percentage, and the pace so far gives the time left, which
# therefore holds on a loaded machine as well as on an idle one.
#
# On a terminal the progress is one line redrawn every second. On a pipe or a file (a log,
# the CLI when its stderr is not a terminal) it is a new line every $progress_interval
# seconds, so a reader always sees the build moving. VESSEL_PROGRESS=terminal (set by the
# CLI, whose stderr is the terminal while ours is a pipe to it) or VESSEL_PROGRESS=lines
# forces one form.

readonly progress_interval=5

# What the steps of the current inputs make (counted in a build on linux-source-6.1 6.1.192
# and busybox 1.35.0), for the first build's progress, before the cache has counts of its own.
readonly kernel_objects_default=1046
readonly busybox_objects_default=565
readonly source_files_default=83730
# CPU time the whole build took on the 2-core machines the project is developed on (user +
# system seconds), for the estimate said at the start.
readonly build_cpu_seconds=1170

progress_on_terminal() {
  case "${VESSEL_PROGRESS:-}" in
    terminal) return 0 ;;
    lines) return 1 ;;
    *) [ -t 2 ] ;;
  esac
}

# Sets <step>_objects from the counts the last build left in the cache, or the defaults.
load_counts() {
  kernel_objects=$kernel_objects_default
  busybox_objects=$busybox_objects_default
  source_files=$source_files_default
  local name count
  [ -f "$cache_root/.counts" ] || return 0
  while read -r name count; do
    [[ "$count" =~ ^[0-9]+$ ]] || continue
    case "$name" in
      kernel_objects | busybox_objects | source_files) printf -v "$name" '%s' "$count" ;;
    esac
  done <"$cache_root/.counts"
}

save_counts() {
  printf 'kernel_objects %s\nbusybox_objects %s\nsource_files %s\n' \
    "$kernel_objects" "$busybox_objects" "$source_files" >"$cache_root/.counts" 2>/dev/null || true
}

# "about 9 to 14 min on this machine (2 cores, load 1.50)": the build's CPU time spread over
# the share of the cores it can expect. Our jobs (one per core) share the cores with the L
# tasks already running (the load average): they would get cores * cores / (cores + L) of
# them if those all wanted a whole core all the time. They do not (builds wait for disks,
# tests sleep), and the load changes during a long build: on a shared 2-core machine the
# kernel's compile got between cores^2 / (cores + 0.6 L) and cores^2 / (cores + 0.25 L),
# which make the two ends of the estimate.
estimate_text() {
  local load
  load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
  awk -v cpu="$build_cpu_seconds" -v cores="$build_jobs" -v load="$load" 'BEGIN {
    best = cpu / (cores * cores / (cores + 0.25 * load)) / 60
    worst = cpu / (cores * cores / (cores + 0.6 * load)) / 60
    printf "about %d to %d min on this machine (%d cores, load %s)", best * 0.9 + 0.5, worst * 1.15 + 0.99, cores, load
  }'
}

# 75 -> "1:15"
format_duration() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# ", ~3 min left" from the pace so far, once there is enough of it to go by; empty before.
time_left() {
  local done="$1" total="$2" elapsed="$3" left
  if [ "$done" -ge "$total" ]; then
    echo ", finishing"
  elif [ "$done" -ge $((total / 20 + 1)) ] && [ "$elapsed" -ge 10 ]; then
    left=$(((total - done) * elapsed / done))
    if [ "$left" -lt 60 ]; then echo ", <1 min left"; else echo ", ~$(((left + 30) / 60)) min left"; fi
  fi
}

# One progress line, short enough for an 80-column terminal with the "build-guest: " prefix:
# "kernel: 1234/2100 objects, 58%, 4:10 so far, ~3 min left".
progress_line() {
  local label="$1" unit="$2" done="$3" total="$4" elapsed="$5" percent
  # The total is an estimate: never claim more than it, nor to be done before the step is.
  [ "$done" -le "$total" ] || done="$total"
  percent=$((done * 100 / total))
  [ "$percent" -le 99 ] || percent=99
  echo "$label: $done/$total $unit, $percent%, $(format_duration "$elapsed") so far$(time_left "$done" "$total" "$elapsed")"
}

# run_with_progress LABEL UNIT TOTAL PATTERN LOG COMMAND...
# Runs COMMAND with its output in LOG and shows how many LOG lines match the extended regular
# expression PATTERN, against TOTAL expected, until it ends. Returns COMMAND's status; sets
# progress_count to the number of matching lines at the end.
run_with_progress() {
  local label="$1" unit="$2" total="$3" pattern="$4" log="$5"
  shift 5
  "$@" >"$log" 2>&1 &
  watch_progress "$label" "$unit" "$total" "$pattern" "$log" $!
}

# watch_progress LABEL UNIT TOTAL PATTERN LOG PID: the same for a background job of this
# shell already running with its output in LOG.
watch_progress() {
  progress_label="$1" progress_unit="$2" progress_total="$3" progress_pattern="$4" progress_log="$5"
  [ "$progress_total" -gt 0 ] || progress_total=1
  local status=0
  watch_job describe_count "$6" || status=$?
  progress_count=$(grep -cE -- "$progress_pattern" "$progress_log" || true)
  return "$status"
}

# run_with_status LABEL LOG COMMAND...: for a step that shows no progress of its own: runs
# COMMAND with its output in LOG, saying "LABEL, 0:25 so far" while it runs. Returns its status.
run_with_status() {
  status_label="$1"
  local log="$2"
  shift 2
  "$@" >"$log" 2>&1 &
  watch_job describe_status $!
}

describe_status() { echo "$status_label, $(format_duration "$1") so far"; }

# The progress line of watch_progress after ELAPSED seconds.
describe_count() {
  local done
  done=$(grep -cE -- "$progress_pattern" "$progress_log" || true)
  progress_line "$progress_label" "$progress_unit" "$done" "$progress_total" "$1"
}

# watch_job DESCRIBE PID: shows the line that the function DESCRIBE prints (given the
# seconds so far) until the background job PID of this shell ends; returns its status.
watch_job() {
  local describe="$1" pid="$2" started=$SECONDS ticks=0 line terminal=0
  progress_on_terminal && terminal=1
  # bash reaps the finished child at once, so kill -0 fails as soon as the job has ended.
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    [ "$terminal" = 1 ] || [ $((ticks % progress_interval)) -eq 0 ] || continue
    line="build-guest: $("$describe" $((SECONDS - started)))"
    if [ "$terminal" = 1 ]; then
      # \r and "erase to the end of the line" redraw the line in place.
      printf '\r\033[K%s' "$line" >&2
    else
      printf '%s\n' "$line" >&2
    fi
  done
  local status=0
  wait "$pid" || status=$?
  # The redrawn line stays as the step's last state; the next message starts below it.
  [ "$terminal" = 0 ] || [ "$ticks" -eq 0 ] || printf '\n' >&2
  return "$status"
}
