#!/usr/bin/env bash
# Train the emotion CNNs on a lent GPU machine that has JAX but neither TensorFlow nor
# this project's dependencies, within a fixed time. Export and report happen back home,
# where TensorFlow is:
#   python -m training.fer_pack pack ../shared/data/fer2013/fer2013.npz .devdata/fer   # 43 MB
#   (wheels of keras, optree, namex and pydantic for the GPU's Python in .whl/)
#   device run, carrying .devdata and .whl:  bash training/gpu_train.sh
# Three runs share the GPU: the default net (the one we ship, seed 1337), the same
# recipe with another seed (how much of a result is luck), and the seed architecture.
# Outputs go to $OUT (final models, logs, metadata), each file under 16 MB.
set -uo pipefail
BUDGET=${BUDGET:-380}     # seconds of training for the default nets
EPOCHS=${EPOCHS:-150}     # the most they get; the budget usually decides
SEED_EPOCHS=${SEED_EPOCHS:-30}
DEADLINE=${DEADLINE:-480} # seconds after start: stop what still runs and keep its last checkpoint
RUNS=${RUNS:-default default-seed7 seed}
EXTRA=${EXTRA:-}          # more train_emotion arguments, e.g. --limit 300 for a dry run
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" runs/gpu

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
export XLA_PYTHON_CLIENT_PREALLOCATE=false
if [ -n "${KERAS_BACKEND:-}" ]; then
  echo "backend $KERAS_BACKEND, as asked"
elif KERAS_BACKEND=jax python3 -c "import jax, keras; assert jax.devices()[0].platform == 'gpu'; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"; then
  export KERAS_BACKEND=jax
else
  echo "JAX sees no GPU: falling back to PyTorch"; export KERAS_BACKEND=torch
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m training.fer_pack unpack .devdata/fer /tmp/fer2013.npz || exit 1

train() {  # name, then train_emotion arguments
  local name=$1; shift
  python3 -m training.train_emotion --data /tmp/fer2013.npz --out "runs/gpu/$name" --checkpoint-every 60 $EXTRA "$@" \
    > "runs/gpu/$name.log" 2>&1
  echo "$name: exit $?" | tee -a runs/gpu/status.txt
}
for name in $RUNS; do
  case $name in
    default) train default --arch default --epochs "$EPOCHS" --time-budget "$BUDGET" --seed 1337 & ;;
    default-seed7) train default-seed7 --arch default --epochs "$EPOCHS" --time-budget "$BUDGET" --seed 7 & ;;
    seed) train seed --arch seed --epochs "$SEED_EPOCHS" --time-budget "$BUDGET" & ;;
  esac
done
while [ "$(jobs -r | wc -l)" -gt 0 ]; do
  sleep 10
  if [ "$SECONDS" -gt "$DEADLINE" ]; then echo "deadline: stopping $(jobs -p | wc -l) runs"; pkill -f training.train_emotion; fi
  [ $((SECONDS % 60)) -lt 10 ] && tail -qn1 runs/gpu/*.log | cut -c1-160
done
wait

for name in $RUNS; do
  if [ -f "runs/gpu/$name/final.keras" ]; then
    split -b 15m -d "runs/gpu/$name/final.keras" "$OUT/$name.final.keras.part"
  elif [ -f "runs/gpu/$name/last.keras" ]; then
    split -b 15m -d "runs/gpu/$name/last.keras" "$OUT/$name.last.keras.part"
  fi
done
tar czf "$OUT/runs.tgz" --exclude='*.keras' runs/gpu
ls -la "$OUT"
