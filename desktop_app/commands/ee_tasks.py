"""satseg ee-tasks list|cancel ID|download ID|forget ID: the Earth Engine exports started by satseg classify-ee --export.

With --json every action prints one JSON object (docs/scale.md): list {"tasks": [...]}, cancel
{"id", "cancel_requested"}, download {"id", "path"}, forget {"id", "removed", "state"}.
"""
from __future__ import annotations

from .common import add_json_argument, print_json

NAME = "ee-tasks"
HELP = ("Earth Engine exports started by classify-ee --export: list, cancel, download (Drive or Cloud Storage), "
        "forget (remove a finished, failed, cancelled or expired task from the list)")


def add_arguments(p) -> None:
    p.add_argument("action", choices=["list", "cancel", "download", "forget"],
                   help="forget removes a finished, failed or cancelled task, or one Earth Engine no longer knows, "
                        "from SatSeg's list; nothing on Earth Engine, Drive, Cloud Storage or disk is deleted")
    p.add_argument("task", nargs="?", metavar="ID", help="task id (cancel, download, forget)")
    p.add_argument("--out", metavar="CLASSES.tif", help="download: write here instead of the path given at export")
    p.add_argument("--ee-project", metavar="ID", help="Google Cloud project registered for Earth Engine")
    p.add_argument("--ee-key", metavar="FILE", help="service-account JSON key instead of the stored sign-in")
    add_json_argument(p, "print one JSON object (every action)")


def run(args) -> int:
    from ..core.errors import SatSegError
    from ..core.online.earthengine import ensure_session
    from ..core.scale import ee_tasks as T

    records = T.read_records()
    if args.action != "list" and not args.task:
        raise SatSegError(f"ee-tasks {args.action} needs a task id (see satseg ee-tasks list)")
    if args.action == "list" and not records:
        if not print_json(args, {"tasks": []}):
            print("no Earth Engine exports started by SatSeg")
        return 0
    if args.action == "forget":
        record = T.find(args.task)                 # an unknown id is one line, before any request
    ensure_session(args.ee_project, args.ee_key)
    if args.action == "forget":
        [status] = T.statuses([record])            # only a task that can no longer change may go
        T.forget(args.task, status)
        if not print_json(args, {"id": args.task, "removed": True, "state": T.describe(status)}):
            print(f"{args.task}: removed from the list ({T.describe(status)}); nothing on Earth Engine or on disk "
                  "was deleted")
        return 0
    if args.action == "cancel":
        T.cancel(args.task)
        if not print_json(args, {"id": args.task, "cancel_requested": True}):
            print(f"{args.task}: cancel requested")
        return 0
    if args.action == "download":
        from .fetch import ctrl_c_cancels
        from .progress import terminal_job

        record = T.find(args.task)
        job = terminal_job()
        with ctrl_c_cancels(job, "nothing is written, the temporary downloads are removed"):
            [status] = T.statuses([record], job)
            out = T.download(record, status, T.authorized_session(), args.out, job=job)
        if not print_json(args, {"id": args.task, "path": str(out)}):
            print(f"{out}: written from Earth Engine export {args.task}")
        return 0
    states = T.statuses(records)
    rows = [{**{k: r[k] for k in ("id", "dest", "out", "started")}, "state": T.describe(s)}
            for r, s in zip(records, states)]
    if print_json(args, {"tasks": rows}):
        return 0
    for r in rows:
        print(f"{r['id']}  {r['started']}  {r['dest']} -> {r['out']}: {r['state']}")
    return 0
