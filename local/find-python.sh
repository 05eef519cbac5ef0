#!/usr/bin/env sh
# Print the interpreter for .venv: a working python3.13 (pyenv's included), else python3 >= 3.11.
# With --exact, print only a python3.13 (sam build needs the Lambda runtime's version) or fail.
want_exact=${1:-}
for candidate in python3.13 "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do
  if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then
    command -v "$candidate"; exit 0
  fi
done
if [ "$want_exact" = "--exact" ]; then
  echo "no python3.13 found (tried PATH, pyenv and /usr); sam build needs the Lambda runtime's Python" >&2
  exit 1
fi
for candidate in python3 python; do
  if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    command -v "$candidate"; exit 0
  fi
done
echo "no Python >= 3.11 found" >&2
exit 1
