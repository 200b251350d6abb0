"""The CORE 9 GUI's open-and-start, through the gRPC calls its coreclient.py makes.

File > Open calls open_xml without starting (then join_session reads the session back), and
the Start button sends that session to start_session. Unlike core-cli's load-and-start, the
session the daemon starts is the one the GUI holds, so this shows the scenario survives the
round trip (its StaticRoute templates above all).

    /opt/core/venv/bin/python core-gui-start.py SCENARIO.xml    prints {"session": ID, ...}
"""
import json
import sys
from pathlib import Path

from core.api.grpc.client import CoreGrpcClient


def main():
    client = CoreGrpcClient()
    client.connect()
    opened, session_id = client.open_xml(Path(sys.argv[1]), start=False)
    session = client.get_session(session_id)
    started, exceptions = client.start_session(session)
    templates = sorted(
        name for node in session.nodes.values() for name in (node.service_configs or {}))
    print(json.dumps({
        'session': session_id,
        'opened': opened,
        'started': started,
        'exceptions': list(exceptions),
        'nodes': len(session.nodes),
        'configuredServices': sorted(set(templates)),
    }))
    client.close()


if __name__ == '__main__':
    main()
