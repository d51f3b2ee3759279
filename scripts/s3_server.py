"""The local S3 server: moto's server mode, as `moto_server` runs it, with its S3 data kept across restarts.

    python scripts/s3_server.py --port 59000 --state-dir .local/s3 [--host 127.0.0.1] [--root CHECKOUT]
                                [--keep-bucket NAME ...]

At start it restores moto's S3 backend from STATE_DIR/s3-state.pickle: the buckets, every version of every object
and its delete markers, versioning, the Object Lock configuration, each object's retention and legal hold, tags and
metadata. On SIGTERM or SIGINT (what `make stop` sends) it stops taking requests, lets those in flight finish, and
saves the backend there atomically (a temporary file, then a rename). It saves only then, because the state of a
benchmark can be gigabytes: a server killed with SIGKILL, or one that crashes, loses everything written since it
started, and the next start restores what the previous clean stop saved.

With --keep-bucket, only the buckets named are saved (stack.py names its four, whose objects the `app`
database's rows point at): the buckets tests and benchmarks create for themselves are scratch, as before,
and would otherwise pile up in the state file with every `make test`.

A state file that cannot be loaded (written by another moto version, or truncated) is never fatal: it is moved aside
to s3-state.pickle.unloadable with a warning, and the server starts empty. The file is a pickle: load only state
files this launcher wrote.

It answers every request as moto_server does (same endpoints, /moto-api/ for readiness), plus
GET /_governance_stack (no bucket name can start with "_"): JSON naming the checkout it serves, so that another
checkout's `make services` does not take it for its own, and what the restore found.
"""

from __future__ import annotations

import argparse
import copyreg
import json
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE_FILE = "s3-state.pickle"
OWNER_PATH = "/_governance_stack"
STATE_FORMAT = 1


def log(message: str) -> None:
    print(f"[s3] {message}", file=sys.stderr, flush=True)


# -- the state file ---------------------------------------------------------------------------------


def _versioned_store_reducer(store: Any) -> tuple:
    """Pickle a bucket's key store with every version of every key.

    moto's _VersionedKeyStore is a dict of key -> [versions], but its items() yields only the newest version and
    its __setitem__ appends: pickled the default way, every older version (and delete marker) is silently dropped.
    Saved as a plain dict of lists and put back with dict.update, which bypasses the appending __setitem__.
    """
    versions = {key: list(dict.__getitem__(store, key)) for key in dict.keys(store)}
    return type(store), (), versions, None, None, dict.update


def _backends() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends


def snapshot() -> dict[str, Any]:
    """What is saved: every account's S3 backends and the bucket namespace (bucket -> partition and account)."""
    import moto

    backends = _backends()
    return {
        "format": STATE_FORMAT,
        "moto": moto.__version__,
        "backends": {account: dict(by_partition) for account, by_partition in backends.items()},
        "bucket_accounts": dict(backends.bucket_accounts),
    }


def forget_buckets_except(keep: set[str]) -> None:
    """Drop every other bucket, with its objects' tags, from the backend: only once the server no longer serves."""
    backends = _backends()
    for _, _, backend in backends.iter_backends():
        for name in [name for name in backend.buckets if name not in keep]:
            del backend.buckets[name]
            backends.bucket_accounts.pop(name, None)
            arn = f"arn:{backend.partition}:s3:::{name}"
            for tagged in [tagged for tagged in backend.tagger.tags if tagged == arn or tagged.startswith(f"{arn}/")]:
                del backend.tagger.tags[tagged]


def save(state_dir: Path, keep: set[str] | None = None) -> dict[str, Any]:
    """Write the backend (only the buckets in KEEP, when given) to STATE_DIR/STATE_FILE: a temporary file in the
    same directory, fsynced, then renamed over the old one, so that a stop interrupted half-way leaves the previous
    state intact."""
    from moto.s3.utils import _VersionedKeyStore

    started = time.perf_counter()
    if keep is not None:
        forget_buckets_except(keep)
    state_dir.mkdir(parents=True, exist_ok=True)
    target = state_dir / STATE_FILE
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    state = snapshot()
    with temporary.open("wb", buffering=1 << 20) as out:
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = copyreg.dispatch_table.copy()
        pickler.dispatch_table[_VersionedKeyStore] = _versioned_store_reducer
        pickler.dump(state)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    return {"objects": count_objects(state), "bytes": target.stat().st_size, "seconds": time.perf_counter() - started}


def count_objects(state: dict[str, Any]) -> int:
    """Object versions (delete markers included) over every bucket of the state."""
    return sum(len(versions) for by_partition in state["backends"].values() for backend in by_partition.values()
               for bucket in backend.buckets.values() for versions in dict.values(bucket.keys))


def restore(state_dir: Path) -> dict[str, Any]:
    """Load STATE_DIR/STATE_FILE into moto's S3 backend, if there is one. Returns what it found, with a
    `warning` when a file was there but could not be loaded (it is then moved aside and the server starts empty)."""
    import moto

    path = state_dir / STATE_FILE
    for unfinished in state_dir.glob(f"{STATE_FILE}.*.tmp"):  # a save that was killed half-way
        unfinished.unlink()
    if not path.exists():
        return {"restored": False, "objects": 0}
    started = time.perf_counter()
    try:
        with path.open("rb") as source:
            state = pickle.load(source)
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError("not a state file of this launcher")
        if state.get("moto") != moto.__version__:
            raise ValueError(f"written by moto {state.get('moto')}, this is moto {moto.__version__}")
    except Exception as exc:  # any file that does not load: the server must still start
        aside = path.with_name(f"{path.name}.unloadable")
        os.replace(path, aside)
        reason = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
        return {"restored": False, "objects": 0,
                "warning": f"the S3 state in {path} could not be loaded ({reason}); moved to {aside.name}, "
                           "starting with empty buckets"}
    backends = _backends()
    for account, by_partition in state["backends"].items():
        for partition, backend in by_partition.items():
            backends[account][partition] = backend
    backends.bucket_accounts.update(state["bucket_accounts"])
    buckets = sum(len(b.buckets) for p in state["backends"].values() for b in p.values())
    return {"restored": True, "buckets": buckets, "objects": count_objects(state),
            "seconds": round(time.perf_counter() - started, 3)}


# -- serving ----------------------------------------------------------------------------------------


class Guarded:
    """moto's WSGI app, plus the owner endpoint, counting the requests in flight so that the state is saved only
    once none is; after `drain` starts, a request (on a kept-alive connection) gets 503 rather than a write that the
    saved state would miss."""

    def __init__(self, app: Any, owner: dict[str, Any]):
        self.app = app
        self.owner = json.dumps(owner).encode()
        self.active = 0
        self.closing = False
        self.idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == OWNER_PATH:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(self.owner)))])
            return [self.owner]
        with self.idle:
            if self.closing:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the S3 server is stopping\n"]
            self.active += 1
        try:
            result = self.app(environ, start_response)
            try:
                return list(result)  # the whole response inside the count (moto's are in memory anyway)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            with self.idle:
                self.active -= 1
                self.idle.notify_all()

    def drain(self, timeout: float = 30) -> bool:
        with self.idle:
            self.closing = True
            return self.idle.wait_for(lambda: self.active == 0, timeout)


def serve(host: str, port: int, state_dir: Path, root: Path, keep: set[str] | None = None) -> int:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto_server does
    found = restore(state_dir)
    if "warning" in found:
        log(f"WARNING: {found['warning']}")
    elif found["restored"]:
        log(f"restored {found['buckets']} buckets, {found['objects']} object versions in {found['seconds']:.2f} s")
    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True  # as moto_server does
    app = Guarded(moto_app, {"root": str(root), "pid": os.getpid(), "state_dir": str(state_dir), **found})
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, name="s3-server", daemon=True).start()
    log(f"serving on http://{host}:{server.server_port} for {root}")
    stop.wait()
    server.shutdown()
    if not app.drain():
        log("WARNING: requests still running after 30 s; saving anyway")
    saved = save(state_dir, keep)
    log(f"saved {saved['objects']} object versions ({saved['bytes']} bytes) in {saved['seconds']:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local" / "s3")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout this server belongs to")
    parser.add_argument("--keep-bucket", action="append", dest="keep", help="save only these buckets (repeatable)")
    args = parser.parse_args(argv)
    keep = set(args.keep) if args.keep else None
    return serve(args.host, args.port, args.state_dir.resolve(), args.root.resolve(), keep)


if __name__ == "__main__":
    sys.exit(main())
