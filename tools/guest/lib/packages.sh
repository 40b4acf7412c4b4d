# The Debian packages the guest build uses, and apt's source entries for BusyBox's source
# (sourced by build-guest; not an input of the cache key: the versions of the packages that
# shape the result are, through print_inputs).
#
# Nothing is installed and apt's sources are left alone when `no_install` is 1
# (build-guest --no-install, or VESSEL_NO_INSTALL=1): the builder then names what is missing
# in one sentence and stops.

# Each package the build uses, with what it is for (said before installing it).
readonly package_purposes=(
  "gcc-riscv64-linux-gnu:the RISC-V cross compiler"
  "binutils-riscv64-linux-gnu:the RISC-V assembler and linker"
  "libc6-dev-riscv64-cross:the RISC-V C library BusyBox links"
  "linux-source-6.1:the kernel's source, about 140 MB"
  "gcc:the host compiler for the build's own tools"
  "libc6-dev:the host C library for the build's own tools"
  "make:runs the kernel and BusyBox builds"
  "flex:the kernel configuration's parser"
  "bison:the kernel configuration's parser"
  "bc:computes the kernel's timing constants"
  "dpkg-dev:unpacks BusyBox's source package"
  "cpio:packs the initramfs"
  "gzip:compresses the initramfs"
  "xz-utils:unpacks the kernel's source"
  "e2fsprogs:makes the ext4 root disk"
  "fakeroot:gives the root disk's files to root without being root"
)

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 1
  fi
}

can_be_root() { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }

apt_get() {
  # Wait for another apt (an unattended upgrade, a parallel install) instead of failing.
  # Input from /dev/null and no pseudo-terminal for dpkg: with the terminal on its input,
  # apt switches that terminal to raw mode while dpkg runs, which turns every line that
  # others print meanwhile into a staircase. (sudo still asks for a password on /dev/tty.)
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Use-Pty=0 "$@" </dev/null
}

# "flex (the kernel configuration's parser), cpio (packs the initramfs)" for the given packages.
describe_packages() {
  local p entry text=""
  for p in "$@"; do
    for entry in "${package_purposes[@]}"; do
      [ "${entry%%:*}" = "$p" ] && text+="${text:+, }$p (${entry#*:})"
    done
  done
  echo "$text"
}

ensure_packages() {
  local missing=() entry p
  for entry in "${package_purposes[@]}"; do
    p="${entry%%:*}"
    [ "$(installed_version "$p")" != none ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$no_install" = 0 ] ||
    fail "the guest build needs these Debian packages, which are missing: ${missing[*]}; install them (apt-get install ${missing[*]}) or run without --no-install and VESSEL_NO_INSTALL to let the builder install them."
  can_be_root || fail "the guest build needs these Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again."
  local how="with apt-get"
  [ "$(id -u)" -eq 0 ] || how="with sudo apt-get (sudo may ask for your password)"
  say "installing ${#missing[@]} Debian packages the build needs, $how: $(describe_packages "${missing[@]}")."
  say "(to install them yourself instead, stop now and run again with VESSEL_NO_INSTALL=1 or build-guest --no-install)"
  if ! apt_get install -y --no-install-recommends "${missing[@]}" >&2; then
    # The package lists may be missing or stale (a fresh machine): refresh and retry once.
    say "refreshing the package lists (apt-get update) and trying again"
    apt_get update >&2 || fail "apt-get update failed; check the machine's apt sources and network."
    apt_get install -y --no-install-recommends "${missing[@]}" >&2 ||
      fail "could not install ${missing[*]} with apt-get; see apt's messages above."
  fi
}

# Refreshes apt's package lists, unless installing is refused (then $1, a sentence, is the failure).
refresh_package_lists() {
  [ "$no_install" = 0 ] || fail "$1"
  say "refreshing the package lists (apt-get update)"
  apt_get update >&2 || fail "apt-get update failed; check the machine's apt sources and network."
}

# True when apt already has (or is configured for) source packages.
has_deb_src() {
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list && return 0
  grep -qsiE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources && return 0
  return 1
}

# A deb-src twin of each enabled Debian `deb` paragraph of this release (suites
# "<codename>" and "<codename>-*") in the deb822 files, ready for a .sources file.
# Third-party repositories (their own suite names) are left alone: most have no sources.
deb822_src_entries() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # Paragraphs are separated by blank lines; a paragraph is kept when its Types has
    # `deb` and one of its Suites is this release's, with Types rewritten to deb-src.
    awk -v codename="$codename" '
      function flush() {
        if (text != "" && is_deb && own_suite && enabled) printf "%s\n", text
        text = ""; is_deb = 0; own_suite = 0; enabled = 1
      }
      BEGIN { enabled = 1 }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      {
        line = $0
        field = tolower($1)
        if (field == "types:") {
          for (i = 2; i <= NF; i++) if ($i == "deb") is_deb = 1
          line = "Types: deb-src"
        }
        if (field == "suites:")
          for (i = 2; i <= NF; i++) if ($i == codename || index($i, codename "-") == 1) own_suite = 1
        if (field == "enabled:" && tolower($2) == "no") enabled = 0
        text = text line "\n"
      }
      END { flush() }' "$f"
  done
}

# The same for the one-line format: `deb [options] URI suite components...`.
one_line_src_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v codename="$codename" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
        suite = $(i + 1)
        if (suite == codename || index(suite, codename "-") == 1) { sub(/^deb/, "deb-src"); print }
      }' "$f"
  done
}

# Writes one apt sources file as root and says so.
write_sources_file() {
  local target="$1" entries="$2"
  say "adding $target: source package entries that mirror the machine's Debian 'deb' entries (for 'apt-get source busybox')"
  printf '# Added by Vessel (tools/guest/build-guest) so that apt-get source busybox works.\n%s\n' "$entries" |
    as_root tee "$target" >/dev/null || fail "could not write $target."
}

ensure_deb_src() {
  has_deb_src && return 0
  [ "$no_install" = 0 ] ||
    fail "BusyBox's source needs a deb-src entry in apt's sources, which has none; add one as root (a copy of the Debian 'deb' entry with deb-src) or run without --no-install and VESSEL_NO_INSTALL to let the builder add it."
  can_be_root || fail "BusyBox's source needs a deb-src entry in apt's sources; add one as root (a copy of the Debian 'deb' entry with deb-src) and run again."
  local codename deb822 one_line
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [ -n "$codename" ] || fail "cannot tell this Debian release's code name from /etc/os-release."
  deb822="$(deb822_src_entries)"
  one_line="$(one_line_src_entries)"
  [ -n "$deb822$one_line" ] ||
    fail "found no Debian '$codename' entry in apt's sources to mirror as deb-src for BusyBox's source; add a deb-src entry as root and run again."
  # Mirror each format in its own kind of file, as the machine has it.
  [ -z "$deb822" ] || write_sources_file /etc/apt/sources.list.d/vessel-deb-src.sources "$deb822"
  [ -z "$one_line" ] || write_sources_file /etc/apt/sources.list.d/vessel-deb-src.list "$one_line"
  say "refreshing the package lists (apt-get update)"
  apt_get update >&2 || fail "apt-get update failed after adding the deb-src entries; see apt's messages above."
}
