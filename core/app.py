"""How every app of the project runs: one clear line for the user's mistakes, and no litter.

`hydra_app(task, config_name)` turns `task(cfg)` into the app's `main()`:

- The project's own errors (`core.errors.UserError`: settings, data, checkpoints, run folders,
  plans; `zest.ZestError`; a mandatory setting left unset) are printed as one line
  `<app>: error: <message>` on stderr and the process exits with status 2, without a traceback.
  Hydra's own refusals while composing the config (unknown key, wrong type) exit with 2 too.
  `HYDRA_FULL_ERROR=1` or `ZEST_DEBUG=1` shows the traceback instead. Anything else is a bug and
  keeps Hydra's report and status 1.
- Hydra writes nothing before the run does work. The `DeferRunFolder` callback (listed under
  `hydra.callbacks` in every app's config) keeps Hydra from creating the run folder and its
  `.hydra/` at start-up; `record_run()` writes `.hydra/config.yaml`, `hydra.yaml` and
  `overrides.yaml` there, as Hydra would have, once the run commits to its work. Apps record on
  success by default; the training app records when training starts (`record="explicit"`), so a
  refused or failed run leaves its folder (and its `.hydra/`) as it was.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import MissingMandatoryValue

from core.errors import UserError
from core.files import atomic_write

__all__ = ["DeferRunFolder", "hydra_app", "record_run", "reported"]

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def reported() -> tuple[type[BaseException], ...]:
    """The errors an app reports as one line: the project's, a mandatory setting left unset, and
    the library's `zest.ZestError` once `zest` is loaded (the ground floor imports nothing of the
    library; an app that never loaded it cannot raise its errors)."""
    zest = sys.modules.get("zest")
    library = (zest.ZestError,) if zest is not None else ()
    return (UserError, MissingMandatoryValue, *library)


_RUN: dict[str, Any] = {}  # this process's run: where Hydra would have written, and its config


class DeferRunFolder(Callback):
    """Keep Hydra from creating the run folder and writing `.hydra/` before the task starts."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        h = config.hydra
        _RUN["run_dir"] = str(OmegaConf.select(config, "hydra.run.dir"))
        _RUN["subdir"] = h.output_subdir
        with read_write(h), open_dict(h):
            h.output_subdir = None
            h.run.dir = os.getcwd()  # Hydra makes its run dir: let it "make" one that exists


def record_run(log_file: str | None = None) -> Path | None:
    """Write this run's `.hydra/` record where Hydra would have (once; no-op outside an app).

    Args:
        log_file: Also append the app's log to this file in the run folder from now on.

    Returns:
        The record's folder, or None when there is nothing to record.
    """
    if "cfg" not in _RUN or _RUN.get("recorded"):
        return None
    _RUN["recorded"] = True
    run_dir = Path(_RUN["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    hydra_cfg = OmegaConf.create({"hydra": OmegaConf.to_container(HydraConfig.get())})
    hydra_cfg.hydra.run.dir, hydra_cfg.hydra.output_subdir = str(run_dir), _RUN["subdir"]
    folder = None
    if _RUN["subdir"] is not None:
        folder = run_dir / _RUN["subdir"]
        for name, node in (
            ("config.yaml", _RUN["cfg"]),
            ("hydra.yaml", hydra_cfg),
            ("overrides.yaml", HydraConfig.get().overrides.task),
        ):
            atomic_write(folder / name, OmegaConf.to_yaml(node))
    if log_file is not None:
        handler = logging.FileHandler(run_dir / log_file, mode="a", encoding="utf-8")
        handler.setFormatter(
            logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
        )
        logging.getLogger().addHandler(handler)
        _RUN["log_handler"] = handler
    return folder


def _debug() -> bool:
    return any(os.environ.get(k, "") not in ("", "0") for k in ("HYDRA_FULL_ERROR", "ZEST_DEBUG"))


def hydra_app(
    task: Callable[[DictConfig], Any],
    config_name: str,
    *,
    version_base: str | None = None,
    record: str = "on_success",
) -> Callable[[], None]:
    """The `main()` of an app running `task(cfg)` on the config `conf/<config_name>.yaml`.

    Args:
        task: The app's testable function.
        config_name: Its primary config in `conf/`.
        version_base: Hydra's version_base.
        record: "on_success" (write `.hydra/` when `task` returns) or "explicit" (the task calls
            `record_run()` itself, when its work starts).

    Returns:
        `main()`, to call under `if __name__ == "__main__":`.
    """
    spec = sys._getframe(1).f_globals.get("__spec__")  # the app module (also under python -m)
    name = spec.name if spec is not None else task.__module__
    state = {"started": False}

    @hydra.main(config_path=CONF_DIR, config_name=config_name, version_base=version_base)
    def run(cfg: DictConfig) -> None:
        state["started"] = True
        _RUN["cfg"] = cfg
        try:
            task(cfg)
        except reported() as err:
            if _debug():
                raise
            message = str(err).strip().replace("\n", " ") or type(err).__name__
            print(f"{name}: error: {message}", file=sys.stderr)
            raise SystemExit(2) from None
        if record == "on_success":
            record_run()

    def main() -> None:
        state["started"] = False
        try:
            run()
        except SystemExit as stop:
            if stop.code == 1 and not state["started"]:  # Hydra refused the config
                raise SystemExit(2) from None
            raise
        finally:
            handler = _RUN.get("log_handler")
            if handler is not None:  # this run's log file (several runs in one process: tests)
                logging.getLogger().removeHandler(handler)
                handler.close()
            _RUN.clear()

    return main
