"""Where the project's own files live, for a checkout or an installed copy."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT / "models"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def latest_version(model_dir: Path) -> int:
    """The highest numbered version folder, as TF Serving picks it."""
    versions = [int(p.name) for p in Path(model_dir).glob("*") if p.is_dir() and p.name.isdigit()]
    if not versions:
        raise FileNotFoundError(f"no model versions under {model_dir} (expected {model_dir}/<n>/saved_model.pb)")
    return max(versions)
