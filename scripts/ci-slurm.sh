#!/usr/bin/env bash
# CI: a real one-node Slurm (scripts/slurm-one-node.sh), a smoke sweep and a two-experiment smoke
# reproduce submitted through sbatch, and their results compared with the local backend's, bit
# for bit (metrics, per-seed measurements, pairing trajectories, generator weights). Fails
# loudly when the daemons cannot start; stops the daemons it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${CI_SLURM_WORK:-/tmp/dmd-ci-slurm}
rm -rf "$WORK"; mkdir -p "$WORK"
export SLURM_ONE_NODE_DIR="$WORK/slurm"

scripts/slurm-one-node.sh install
trap 'scripts/slurm-one-node.sh stop' EXIT
scripts/slurm-one-node.sh start
export SLURM_CONF="$SLURM_ONE_NODE_DIR/slurm.conf"
echo "[ci-slurm] sinfo:"; sinfo -N

cargo build -q -p dmd-cli
DMD="${CARGO_TARGET_DIR:-$ROOT/target}/debug/dmd"
export RUST_LOG=warn
LOCAL_JOBS=$(nproc)   # one libtorch thread per local job, as one CPU per Slurm task

wait_for() {   # wait_for JOBID...: until none of the jobs is in the queue (at most 20 min)
    for _ in $(seq 400); do
        local left=0
        for j in "$@"; do squeue -h -j "$j" 2>/dev/null | grep -q . && left=1; done
        [ $left = 0 ] && return 0
        sleep 3
    done
    squeue; echo "[ci-slurm] jobs $* still queued after 20 min" >&2; return 1
}

jobs_of() { python3 -c "import json,sys; j=json.load(open(sys.argv[1]))['jobs']; print(j['prepare'], j['array'], j['gather'])" "$1"; }

compare() {   # compare DIR_A DIR_B: every measurement file under A equals B's
    python3 - "$1" "$2" <<'PY'
import json, pathlib, sys
a, b = map(pathlib.Path, sys.argv[1:])
files = [p for p in a.rglob('*') if p.name in ('metrics.json', 'per_seed.safetensors', 'trajectory.jsonl', 'points.csv', 'summary.csv')]
assert files, f'nothing to compare under {a}'
def load(p):
    raw = p.read_bytes()
    if p.name == 'metrics.json':
        return json.loads(raw)
    if p.name == 'trajectory.jsonl':
        return [{k: v for k, v in json.loads(l).items() if k not in ('wall_s', 'probe_s')} for l in raw.decode().splitlines()]
    return raw
bad = [str(p.relative_to(a)) for p in files if load(p) != load(b / p.relative_to(a))]
print(f'[ci-slurm] {len(files) - len(bad)} of {len(files)} files equal between {a} and {b}')
sys.exit(f'[ci-slurm] differ: {bad}' if bad else 0)
PY
}

same_generators() {   # same_generators STAGES_A STAGES_B
    diff <(cd "$1" && sha256sum student-*/generator.safetensors) <(cd "$2" && sha256sum student-*/generator.safetensors)
    echo "[ci-slurm] generator weights identical ($(ls -d "$1"/student-* | wc -l) students)"
}

echo "[ci-slurm] an unknown partition is refused with one line"
if "$DMD" sweep configs/sweeps/lr-ladder-vectors.toml --profile smoke --backend slurm --slurm-partition no-such-partition \
        --out "$WORK/bad" --runs "$WORK/stages-bad" 2> "$WORK/bad.err"; then
    echo "[ci-slurm] an unknown partition was accepted" >&2; exit 1
fi
grep -q "sbatch refused" "$WORK/bad.err" || { cat "$WORK/bad.err"; exit 1; }
cat "$WORK/bad.err"

echo "[ci-slurm] sweep through sbatch"
SWEEP=configs/sweeps/lr-ladder-vectors.toml
"$DMD" sweep $SWEEP --profile smoke --backend slurm --out "$WORK/sweep-slurm" --runs "$WORK/stages-slurm"
read -r P A G < <(jobs_of "$WORK/sweep-slurm/slurm/submission.json")
echo "[ci-slurm] job ids: prepare $P, array $A, gather $G"
wait_for "$P" "$A" "$G"
"$DMD" sweep $SWEEP --profile smoke --out "$WORK/sweep-slurm" --runs "$WORK/stages-slurm" --status
"$DMD" sweep $SWEEP --profile smoke --jobs "$LOCAL_JOBS" --out "$WORK/sweep-local" --runs "$WORK/stages-local"
compare "$WORK/sweep-slurm" "$WORK/sweep-local"
same_generators "$WORK/stages-slurm" "$WORK/stages-local"

echo "[ci-slurm] reproduce through sbatch"
"$DMD" reproduce --profile smoke --only moons-r4 gmm32-r4 --backend slurm --out "$WORK/repro-slurm" --runs "$WORK/stages-repro-slurm" | tee "$WORK/repro-submit.log"
ids=$(grep -o 'job [0-9]*' "$WORK/repro-submit.log" | awk '{print $2}' | tr '\n' ' ')
echo "[ci-slurm] job ids: $ids"
wait_for $ids
test -f "$WORK/repro-slurm/REPORT.md" || { cat "$WORK"/repro-slurm/logs/*.log; exit 1; }
"$DMD" reproduce --profile smoke --only moons-r4 gmm32-r4 --jobs "$LOCAL_JOBS" --out "$WORK/repro-local" --runs "$WORK/stages-repro-local"
compare "$WORK/repro-slurm" "$WORK/repro-local"
same_generators "$WORK/stages-repro-slurm" "$WORK/stages-repro-local"
echo "[ci-slurm] ok"
