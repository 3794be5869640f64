# Sourced by a vm test's script: `check WHAT CMD…` runs CMD and prints
# "ok - WHAT" or "FAIL: WHAT" (and exits 1: the guest's script ends).
check() {
  local what=$1
  shift
  if "$@"; then echo "ok - $what"; else echo "FAIL: $what"; exit 1; fi
}
