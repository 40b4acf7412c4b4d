# The quick way to the cache key (sourced by build-guest; not an input of the key).
#
# Computing the key hashes every input file and asks dpkg and apt for versions: one to
# several seconds on a loaded machine, paid before every `vessel run`. So the key computed
# for a state of the inputs is recorded with a fingerprint of that state made of file
# metadata only (one `stat`): size, inode, modification and change time of each input file
# and folder, of dpkg's status file, and of apt's lists and configuration. Writing a file
# changes its change time (which no tool can set back) and replacing one changes its inode;
# installing or removing a package rewrites dpkg's status file; `apt-get update` and edits
# of apt's sources rewrite the lists or the configuration. Any such change gives another
# fingerprint, which does not match the record, so the key is computed in full and
# recorded again.
#
# Records: $cache_root/.fingerprints/<this folder's path, '/' written '%'>, one per checkout
# of the builder: the key on the first line, the fingerprint after it. The fingerprint is
# compared as text, so the quick path starts one program (stat) and nothing else.

# The files whose metadata make the fingerprint: every input of print_inputs, and what
# the versions it asks dpkg and apt for depend on.
fingerprint_files() {
  local saved_options=()
  shopt -q globstar || saved_options+=(globstar)
  shopt -q nullglob || saved_options+=(nullglob)
  shopt -q dotglob || saved_options+=(dotglob)
  shopt -s globstar nullglob dotglob
  fingerprint_list=(
    "$here/build-guest" "$here/kernel.fragment" "$here/overlay" "$here"/overlay/**
    /var/lib/dpkg/status
    /var/lib/apt/lists /var/lib/apt/lists/*
    /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/*
    /etc/apt/preferences /etc/apt/preferences.d /etc/apt/preferences.d/*
    /etc/apt/apt.conf /etc/apt/apt.conf.d /etc/apt/apt.conf.d/*
  )
  [ ${#saved_options[@]} -eq 0 ] || shopt -u "${saved_options[@]}"
}

# Sets `fingerprint`: the environment the versions are asked in (PATH finds dpkg-query,
# apt-cache and the cross compiler), then one line per file. Files that do not exist are
# left out (stat's complaint about them is not wanted).
fingerprint_state() {
  local fingerprint_list dirs dir compiler=none files
  fingerprint_files
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    if [ -x "${dir:-.}/${cross}gcc" ]; then compiler="${dir:-.}/${cross}gcc"; break; fi
  done
  # The redirection and the || outside $(...): a lone command without them runs in the
  # substitution's own process, without a second one.
  { files="$(stat -c '%n %s %i %d %f %.9Y %.9Z' -- "${fingerprint_list[@]}")"; } 2>/dev/null || true
  printf -v fingerprint 'fingerprint 1\npath %s\napt-config %s\ncompiler %s\n%s' \
    "$PATH" "${APT_CONFIG:-}" "$compiler" "$files"
}

# This checkout's record (a file name has at most 255 bytes: a deep path keeps its end).
fingerprint_record() {
  local name="${here//\//%}"
  [ ${#name} -le 200 ] || name="${name: -200}"
  record="$cache_root/.fingerprints/$name"
}

# Sets `key` from this checkout's record when it was made for the current fingerprint;
# false otherwise. Leaves `fingerprint` set for find_key.
recorded_key() {
  local record stored=""
  fingerprint_state
  fingerprint_record
  [ -f "$record" ] || return 1
  IFS= read -r -d '' stored <"$record" || true
  key="${stored%%$'\n'*}"
  [[ "$key" =~ ^[0-9a-f]{16}$ ]] && [ "${stored#*$'\n'}" = "$fingerprint"$'\n' ]
}

# Sets `key` to the cache key of the current inputs: from the record when it matches the
# current fingerprint, else computed in full (cache_key) and recorded.
find_key() {
  local fingerprint record first
  recorded_key && return 0
  first="$fingerprint"
  key="$(cache_key)"
  # Recorded only when nothing changed while the key was computed: a record must never pair
  # the fingerprint of one state with the key of another.
  fingerprint_state
  [ "$fingerprint" = "$first" ] || return 0
  fingerprint_record
  # A cache that cannot be written to still works, only without the quick path.
  { mkdir -p "${record%/*}" &&
    printf '%s\n%s\n' "$key" "$fingerprint" >"$record.$$" &&
    mv -f "$record.$$" "$record"
  } 2>/dev/null || rm -f "$record.$$" 2>/dev/null || true
}
