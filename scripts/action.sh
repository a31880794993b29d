#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml) that run plateau-doctor, as one script you can also
# run on your own machine:
#
#   PD_PATHS="runs/train.log" PD_ARGS="--config config/train.py" bash scripts/action.sh
#
# It runs `plateau-doctor $PD_COMMAND` on the paths three times over the same input: a SARIF file
# and a Markdown report (written to $PD_OUTPUT_DIR, by default $RUNNER_TEMP/plateau-doctor), then
# GitHub workflow commands on stdout (annotations on the log lines), whose exit code is the
# script's: 0 nothing at or above --fail-on, 1 something is, 2 the input could not be read.
# The Markdown is appended to $GITHUB_STEP_SUMMARY and the file paths and exit code written to
# $GITHUB_OUTPUT where those are set (on GitHub they are).
#
# Inputs (environment):
#   PD_PATHS       logs, run directories or configs: one per line, or separated by spaces
#   PD_COMMAND     diagnose (default) or check
#   PD_FAIL_ON     error (default), warning, info or never
#   PD_ARGS        further arguments, split like a shell would (quotes kept, nothing expanded)
#   PD_OUTPUT_DIR  where the SARIF and Markdown files go
#   PLATEAU_DOCTOR the command to run (default: plateau-doctor)
set -euo pipefail

fail() { echo "plateau-doctor action: $*" >&2; exit 2; }

command_name="${PD_COMMAND:-diagnose}"
case "$command_name" in
  diagnose|check) ;;
  *) fail "command must be diagnose or check, not '$command_name'" ;;
esac
fail_on="${PD_FAIL_ON:-error}"
case "$fail_on" in
  error|warning|info|never) ;;
  *) fail "fail-on must be error, warning, info or never, not '$fail_on'" ;;
esac

split() {  # split MODE TEXT: TEXT's words, each ended by a NUL. MODE "words": on whitespace;
           # "shell": as a shell splits them, quotes honoured, nothing expanded or executed.
  PD_TEXT="$2" python3 -c 'import os, shlex, sys
text = os.environ["PD_TEXT"]
try:
    words = text.split() if sys.argv[1] == "words" else shlex.split(text)
except ValueError as exc:
    sys.exit(f"plateau-doctor action: args: {exc}")
sys.stdout.write("".join(word + "\0" for word in words))' "$1"
}

# Paths: one per line (a YAML block) or separated by spaces.
mapfile -d '' paths < <(split words "${PD_PATHS:-}")
# Without a path the tool would wait on stdin, which a CI step does not have.
[ "${#paths[@]}" -gt 0 ] || fail "paths is empty: give the logs, run directories or configs to read"
split shell "${PD_ARGS:-}" > /dev/null || exit 2
mapfile -d '' args < <(split shell "${PD_ARGS:-}")

read -r -a tool <<< "${PLATEAU_DOCTOR:-plateau-doctor}"
out_dir="${PD_OUTPUT_DIR:-${RUNNER_TEMP:-$PWD}/plateau-doctor}"
mkdir -p "$out_dir"
sarif="$out_dir/plateau-doctor.sarif"
markdown="$out_dir/plateau-doctor.md"
rm -f "$sarif" "$markdown"  # a file left by an earlier run must not pass for this one's

run() { "${tool[@]}" "$command_name" "${paths[@]}" ${args[@]+"${args[@]}"} "$@"; }

set +e
run --format sarif --output "$sarif" --fail-on never
run --format markdown --output "$markdown" --fail-on never
run --format github --fail-on "$fail_on"
status=$?
set -e

if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$markdown" ]; then
  cat "$markdown" >> "$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$status"
    [ -s "$sarif" ] && echo "sarif=$sarif"
    [ -s "$markdown" ] && echo "markdown=$markdown"
  } >> "$GITHUB_OUTPUT"
fi
exit "$status"
