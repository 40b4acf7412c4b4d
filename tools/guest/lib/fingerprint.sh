# The quick way to the cache key (sourced by build-guest; not an input of the key).
#
# Computing the key hashes every input file and asks dpkg and apt for versions: one to
# several seconds on a loaded machine, paid before every `vessel run`. So the key computed
# for a state of the inputs is recorded under a fingerprint of that state made of file
# metadata only (one `stat`): size, inode, modification and change time of each input file
# and folder, of dpkg's status file, and of apt's lists and configuration. Writing a file
# changes its change time (which no tool can set back) and replacing one changes its inode;
# installing or removing a package rewrites dpkg's status file; `apt-get update` and edits
# of apt's sources rewrite the lists or the configuration. Any such change gives another
# fingerprint, which has no record, so the key is computed in full and recorded again.
#
# Records: $cache_root/.fingerprints/<fingerprint hash>, each holding one key.

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

# The fingerprint text: the environment the versions are asked in, then one line per file.
# Files that do not exist are left out (stat's complaint about them is not wanted).
fingerprint_text() {
  local fingerprint_list dirs dir compiler=none
  fingerprint_files
  # Which cross compiler PATH finds (its package version comes from dpkg's status file).
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    if [ -x "${dir:-.}/${cross}gcc" ]; then compiler="${dir:-.}/${cross}gcc"; break; fi
  done
  printf 'fingerprint 1\npath %s\napt-config %s\ncompiler %s\n' "$PATH" "${APT_CONFIG:-}" "$compiler"
  stat -c '%n %s %i %d %f %.9Y %.9Z' -- "${fingerprint_list[@]}" 2>/dev/null || true
}

# Sets `fingerprint` to the hash of the fingerprint text.
fingerprint_hash() {
  fingerprint="$(fingerprint_text | sha256sum)"
  fingerprint="${fingerprint:0:32}"
}

# Sets `key` to the cache key of the current inputs: from the record of the current
# fingerprint when there is one, else computed in full and recorded.
find_key() {
  local fingerprint record first
  fingerprint_hash
  record="$cache_root/.fingerprints/$fingerprint"
  if [ -f "$record" ] && read -r key <"$record" && [[ "$key" =~ ^[0-9a-f]{16}$ ]]; then
    return 0
  fi
  key="$(cache_key)"
  # Recorded only when nothing changed while the key was computed: a record must never pair
  # the fingerprint of one state with the key of another.
  first="$fingerprint"
  fingerprint_hash
  [ "$fingerprint" = "$first" ] || return 0
  # A cache that cannot be written to still works, only without the quick path.
  { mkdir -p "$cache_root/.fingerprints" &&
    printf '%s\n' "$key" >"$record.$$" &&
    mv -f "$record.$$" "$record"
  } 2>/dev/null || rm -f "$record.$$" 2>/dev/null || true
  # Records of states long gone are dropped (each is a few bytes, but edits make many).
  find "$cache_root/.fingerprints" -type f -mtime +30 -delete 2>/dev/null || true
}
