"""`musicalface lyrics serve|label|import`."""
from __future__ import annotations

import sys
from pathlib import Path


def add_commands(sub) -> None:
    p = sub.add_parser("lyrics", help="the lyrics service and the catalog labeller")
    lsub = p.add_subparsers(dest="lyrics_command", metavar="ACTION", required=True)

    s = lsub.add_parser("serve", help="run the lyrics HTTP service (OpenAPI at /docs)")
    s.add_argument("--host", help="default LYRICS_HOST or 127.0.0.1")
    s.add_argument("--port", type=int, help="default LYRICS_PORT or 8001")
    s.set_defaults(func=serve)

    lab = lsub.add_parser("label", help="label a catalog CSV (artist,title,lyrics or Kaggle songdata.csv) with the model")
    lab.add_argument("csv", metavar="CSV", help="catalog CSV, plain or .gz")
    lab.add_argument("--out", help="labels CSV to write or resume (default ./<name>_labels.csv)")
    lab.add_argument("--batch-size", type=int, default=64)
    lab.add_argument("--model-dir", help="default LYRICS_MODEL_DIR (models/lyrics)")
    lab.add_argument("--model-version", type=int, help="default the newest")
    lab.add_argument("--no-progress", action="store_true")
    lab.set_defaults(func=label)

    imp = lsub.add_parser("import", help="load a labels CSV into the songs database (DATABASE_URL)")
    imp.add_argument("labels", metavar="LABELS_CSV")
    imp.set_defaults(func=import_labels)


def serve(args) -> int:
    import uvicorn

    from services.lyrics.app import create_app
    from services.lyrics.settings import LyricsSettings

    settings = LyricsSettings()
    uvicorn.run(create_app(settings), host=args.host or settings.lyrics_host, port=args.port or settings.lyrics_port,
                log_level="info")
    return 0


def default_out(csv_path: str) -> Path:
    name = Path(csv_path).name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return Path(f"{name}_labels.csv")


def label(args) -> int:
    from services.lyrics.catalog import label_catalog
    from services.lyrics.labeller import Labeller
    from services.lyrics.settings import LyricsSettings

    if args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    if not Path(args.csv).exists():
        raise FileNotFoundError(f"{args.csv} does not exist")
    settings = LyricsSettings()
    labeller = Labeller(args.model_dir or settings.lyrics_model_dir,
                        args.model_version if args.model_version is not None else settings.lyrics_model_version)
    out = Path(args.out) if args.out else default_out(args.csv)
    stats = label_catalog(args.csv, out, labeller.label, labeller.version, args.batch_size,
                          progress=not args.no_progress and sys.stderr.isatty())
    print(f"{out}: {stats} (model {labeller.version})")
    return 0


def import_labels(args) -> int:
    from services.lyrics import db
    from services.lyrics.settings import LyricsSettings

    settings = LyricsSettings()
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    n = db.import_labels(engine, args.labels)
    print(f"imported {n} labelled songs into {engine.url.render_as_string(hide_password=True)}")
    return 0
