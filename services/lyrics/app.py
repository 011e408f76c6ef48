"""The lyrics service: `create_app(settings)` for uvicorn and the tests."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.lyrics import db
from services.lyrics.routes import router
from services.lyrics.settings import LyricsSettings

log = logging.getLogger(__name__)


def _one_line(errors) -> str:
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts) or "invalid request"


def create_app(settings: LyricsSettings | None = None) -> FastAPI:
    settings = settings or LyricsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = db.make_engine(settings.database_url)
        db.prepare(engine, settings.lyrics_catalog)  # schema made or migrated, catalog on first start
        app.state.engine = engine
        yield
        engine.dispose()

    app = FastAPI(title="Musical Face lyrics", version="1", lifespan=lifespan,
                  description="Songs labelled with a mood from their lyrics, and random playlists of a mood.")
    app.state.settings = settings
    app.state.labeller = None
    lock = threading.Lock()

    def get_labeller():
        # TensorFlow loads on the first POST /songs, so playlists start fast.
        with lock:
            if app.state.labeller is None:
                from services.lyrics.labeller import shared_labeller

                app.state.labeller = shared_labeller(settings.lyrics_model_dir, settings.lyrics_model_version)
                log.info("lyrics model %s loaded", app.state.labeller.version)
            return app.state.labeller

    app.state.get_labeller = get_labeller

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        return JSONResponse({"detail": _one_line(errors), "errors": [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]},
            status_code=422)

    app.include_router(router)
    return app
