"""`htr serve`: the web service and its page (see htr/service.py), on loopback by default."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the web service and page (http://127.0.0.1:8000/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", help="model directory (default: the bundled model)")
    p.add_argument("--workers", type=int, default=2, help="reads that run at once (threads)")
    p.add_argument("--queue", type=int, default=8, help="reads that may wait; more get 503 + Retry-After")
    p.add_argument("--max-upload-mb", type=float, default=10.0, help="largest image file accepted")
    p.set_defaults(func=run)


def run(args) -> int:
    import uvicorn

    from htr.service import Limits, create_app

    limits = Limits(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024))
    app = create_app(model=args.model, max_workers=args.workers, queue_size=args.queue, limits=limits)
    # Connections beyond this get uvicorn's own 503 (without Retry-After): bodies being uploaded
    # stay bounded in memory too. Below it, the service's queue sheds load first.
    busy = max(64, 4 * (args.workers + args.queue))
    print(f"htr: serving on http://{args.host}:{args.port}/ (API docs at /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, limit_concurrency=busy, log_level="warning")
    return 0
