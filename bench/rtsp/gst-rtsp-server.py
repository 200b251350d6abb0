#!/usr/bin/python3
"""gst-rtsp-server serving a movie's JPEG frames: the reference server of `bench/rtsp/main.ts`.

One shared media factory (every client joins the same pipeline; RTP leaves through one
multiudpsink) with a looping source of the movie's own JPEG files:

    appsrc name=frames format=time caps=image/jpeg,width=W,height=H,framerate=FPS/1
      ! jpegparse ! rtpjpegpay name=pay0 pt=26 mtu=MTU

Why appsrc and not multifilesrc: multifilesrc (GStreamer 1.22) puts no timestamps on its buffers,
so the server's UDP sink has nothing to sync on and sends the files as fast as it can read them
(about 4,000 frames/s here). imagesequencesrc timestamps but cannot loop. The appsrc gets the
same files, stamped frame n at n/FPS s, and the sink's clock sync paces them at FPS.

RTP and RTCP sockets are bound to --address (an address pool with only that address), so nothing
listens beyond it. Prints "ready URL" on stdout once serving; exits when stdin closes (so a killed
parent leaves no process behind), on SIGTERM and on SIGINT.

Needs Debian's python3-gi and gir1.2-gst-rtsp-server-1.0 (run it with /usr/bin/python3):

    /usr/bin/python3 bench/rtsp/gst-rtsp-server.py --frames DIR --address 127.0.220.1 --port 38600
"""
import argparse
import os
import signal
import struct
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# A frame file larger than this is not a sample movie frame.
MAX_FRAME_BYTES = 4 * 1024 * 1024


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--frames",
        required=True,
        help="directory of one JPEG per frame, played in name order (00000.jpg, 00001.jpg, ...)",
    )
    p.add_argument("--address", default="127.0.0.1", help="address for RTSP, RTP and RTCP (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=38600, help="RTSP port (default 38600)")
    p.add_argument("--mount", default="/movie", help="path clients ask for (default /movie)")
    p.add_argument("--fps", type=int, default=25, help="frame rate (default 25)")
    p.add_argument(
        "--mtu",
        type=int,
        default=1412,
        help="largest RTP packet, header included (default 1412: 1400 bytes of payload, as onode sends)",
    )
    p.add_argument(
        "--rtp-ports",
        default="39000-59000",
        help="UDP port range for the server's RTP/RTCP sockets (default 39000-59000)",
    )
    return p.parse_args()


def jpeg_size(data):
    """(width, height) from the first SOF marker, or None."""
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def load_frames(directory):
    names = sorted(n for n in os.listdir(directory) if n.lower().endswith((".jpg", ".jpeg")))
    frames = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read(MAX_FRAME_BYTES + 1)
        if len(data) > MAX_FRAME_BYTES or data[:2] != b"\xff\xd8":
            raise ValueError(f"{name} is not a JPEG of at most {MAX_FRAME_BYTES} bytes")
        frames.append(data)
    if not frames:
        raise ValueError(f"no .jpg files in {directory}")
    size = jpeg_size(frames[0])
    if size is None:
        raise ValueError(f"{names[0]}: no frame header (SOF)")
    return frames, size


class LoopingFeed:
    """Feeds a media's appsrc the frames in a loop, frame n stamped n / fps."""

    def __init__(self, frames, fps):
        self.frames = [GLib.Bytes.new(f) for f in frames]
        self.period = Gst.SECOND // fps
        self.n = 0

    def need_data(self, appsrc, _length):
        buf = Gst.Buffer.new_wrapped_bytes(self.frames[self.n % len(self.frames)])
        buf.pts = buf.dts = self.n * self.period
        buf.duration = self.period
        self.n += 1
        appsrc.emit("push-buffer", buf)


def main():
    args = parse_args()
    Gst.init(None)
    try:
        frames, (width, height) = load_frames(args.frames)
        low, high = (int(x) for x in args.rtp_ports.split("-"))
    except (OSError, ValueError) as err:
        print(f"gst-rtsp-server.py: {err}", file=sys.stderr)
        return 2
    launch = (
        f"( appsrc name=frames format=time max-buffers=4 "
        f"caps=image/jpeg,width={width},height={height},framerate={args.fps}/1 "
        f"! jpegparse ! rtpjpegpay name=pay0 pt=26 mtu={args.mtu} )"
    )

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    # The default accept backlog is 5; hundreds of clients connecting at once need more.
    server.set_backlog(1024)
    pool = GstRtspServer.RTSPAddressPool()
    # TTL 0: unicast addresses, which the server binds its per-stream UDP sockets to.
    if not pool.add_range(args.address, args.address, low, high, 0):
        print(f"gst-rtsp-server.py: bad address or port range {args.address} {args.rtp_ports}", file=sys.stderr)
        return 2
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    factory.set_address_pool(pool)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)

    def on_media(_factory, media):
        feed = LoopingFeed(frames, args.fps)
        media.get_element().get_by_name("frames").connect("need-data", feed.need_data)

    factory.connect("media-configure", on_media)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"gst-rtsp-server.py: cannot listen on {args.address}:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()

    def on_stdin(_fd, _cond):
        try:
            if os.read(0, 4096):
                return True
        except OSError:
            pass
        loop.quit()
        return False

    GLib.io_add_watch(0, GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    print(
        f"ready rtsp://{args.address}:{args.port}{args.mount} "
        f"({len(frames)} frames, {width}x{height}, {args.fps} fps)",
        flush=True,
    )
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
