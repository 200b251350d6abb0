#!/usr/bin/python3
"""Drives Mininet's API for `onode mininet` (onode/emulators/mininet-runner.ts). Run as root.

Debian's `mininet` package is a library for the system python3. `onode mininet` writes the plan
(plan.json, see mininet-plan.ts), copies this file next to it and runs it with /usr/bin/python3:

    python3 mininet-driver.py PLAN.json RESULT.json

It builds one host per plan host (a network namespace; no switches, no controller, nothing
attached to the machine's own interfaces), links them with TCLink (netem delay and loss when
the kernel has netem, else only rate limits and the bootstrapper gets --emulate-links),
installs forwarding and static routes, starts every process through scripts/run.sh, waits
until every node has registered and every POP has a route to every server, starts the
clients, then runs for the duration (or opens the Mininet CLI). Whatever happens (Ctrl-C,
SIGTERM, its parent gone, an exception), it stops the processes and tears the network down.
RESULT.json says what happened, for the summary (run-summary.ts reads it).
"""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

from mininet.link import Link, TCLink
from mininet.log import setLogLevel
from mininet.net import Mininet

PROBE = (
    "import json,sys,urllib.request\n"
    "try:\n"
    "    print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1], timeout=2))))\n"
    "except Exception:\n"
    "    print('{}')\n"
)


def say(msg):
    sys.stdout.write('mininet: %s\n' % msg)
    sys.stdout.flush()


class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def watch_stdin():
    """The parent holds our stdin: when it goes, we clean up."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def remove_stale_interfaces(plan):
    """Interfaces a killed run left in the root namespace, under the names this plan uses."""
    names = [i['name'] for h in plan['hosts'] for i in h['interfaces']]
    present = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True, text=True).stdout
    existing = set(line.split(':')[1].strip().split('@')[0] for line in present.splitlines() if ':' in line)
    for name in names:
        if name in existing:
            subprocess.run(['ip', 'link', 'del', name], capture_output=True)
            say('removed stale interface %s' % name)


def has_netem(host):
    out = host.cmd('tc qdisc add dev lo root netem delay 1ms 2>&1; echo "rc=$?"')
    if 'rc=0' in out:
        host.cmd('tc qdisc del dev lo root')
        return True
    return False


def build(net, plan):
    hosts = {}
    for h in plan['hosts']:
        hosts[h['name']] = net.addHost(h['name'], ip=None, inNamespace=True)
    first = hosts[plan['hosts'][0]['name']]
    netem = plan['netem'] == 'auto' and has_netem(first)
    addr = {}
    for h in plan['hosts']:
        for i in h['interfaces']:
            addr[i['name']] = i['address']
    # tc's advice about htb quanta on fast links is noise here.
    setLogLevel('critical')
    for l in plan['links']:
        params = {}
        if l['rateKbps']:
            params['bw'] = l['rateKbps'] / 1000.0
        if netem and l['delayMs'] > 0:
            params['delay'] = '%.3fms' % l['delayMs']
        if netem and l['lossPct'] > 0:
            params['loss'] = l['lossPct']
        p1 = {'ip': addr[l['aIntf']]} if addr.get(l['aIntf']) else {}
        p2 = {'ip': addr[l['bIntf']]} if addr.get(l['bIntf']) else {}
        p1.update(params)
        p2.update(params)
        net.addLink(hosts[l['a']], hosts[l['b']], intfName1=l['aIntf'], intfName2=l['bIntf'],
                    cls=TCLink if params else Link, params1=p1, params2=p2)
    setLogLevel('warning')
    net.build()
    for h in plan['hosts']:
        node = hosts[h['name']]
        # Written under /proc (per namespace) rather than with sysctl, which minimal systems lack.
        # Forwarding hosts see asymmetric paths, which reverse-path filtering would drop.
        cmds = ['echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter', 'echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter']
        cmds.append('echo %d > /proc/sys/net/ipv4/ip_forward' % (1 if h['forward'] else 0))
        if h['role'] == 'switch':
            cmds.append('ip link add br0 type bridge && ip link set br0 up')
            for i in h['interfaces']:
                cmds.append('ip link set %s master br0 && ip link set %s up' % (i['name'], i['name']))
        for i in h['interfaces']:
            cmds.append('echo 0 > /proc/sys/net/ipv4/conf/%s/rp_filter' % i['name'])
        for a in h['loopback']:
            cmds.append('ip addr add %s/32 dev lo' % a)
        for r in h['routes']:
            cmds.append('ip route add %s via %s dev %s' % (r['subnet'], r['via'], r['dev']))
        for c in cmds:
            out = node.cmd(c + ' 2>&1; echo "rc=$?"')
            if 'rc=0' not in out:
                raise RuntimeError('%s: %s failed: %s' % (h['name'], c, out.strip()))
    return hosts, netem


def status(host, plan, address):
    url = 'http://%s:%d/status' % (address, plan['statusPort'])
    # A file, not -c: the host's interactive shell would echo a multi-line program's prompts.
    probe = os.path.join(plan['out'], 'status-probe.py')
    if not os.path.exists(probe):
        with open(probe, 'w') as f:
            f.write(PROBE)
    out = host.cmd('%s %s %s' % (shlex.quote(sys.executable), shlex.quote(probe), shlex.quote(url)))
    try:
        return json.loads(out.strip().splitlines()[-1])
    except Exception:
        return {}


def wait_ready(hosts, plan, result):
    deadline = time.time() + plan['readySeconds']
    boot = plan['bootstrapper']
    while time.time() < deadline:
        registered = status(hosts[boot['host']], plan, boot['address']).get('registered', [])
        missing = [n for n in plan['nodes'] if n not in registered]
        unrouted = [] if missing else [
            p['host'] for p in plan['pops']
            if len(status(hosts[p['host']], plan, p['address']).get('routes', [])) < plan['servers']]
        result['registered'] = registered
        result['missing'] = missing
        result['unrouted'] = unrouted
        if not missing and not unrouted:
            return True
        time.sleep(0.5)
    return False


def start(host, proc, log_dir, extra):
    log = open(os.path.join(log_dir, '%s.log' % proc['host']), 'ab')
    argv = list(proc['argv']) + list(extra)
    p = host.popen(argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return p


def stop_all(procs):
    for p in procs.values():
        if p.poll() is None:
            try:
                p.terminate()
            except OSError:
                pass
    deadline = time.time() + 3
    for p in procs.values():
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(net, plan, result):
    remove_stale_interfaces(plan)
    hosts, netem = build(net, plan)
    result['netem'] = netem
    # What each host ended up with, so a test can check nothing reaches the machine's own interfaces.
    result['hostLinks'] = {
        name: sorted(
            line.split(':')[1].strip().split('@')[0]
            for line in node.cmd('ip -o link show').splitlines()
            if ':' in line
        )
        for name, node in hosts.items()}
    if netem:
        say('links: delay and loss by netem, rates by htb')
    else:
        say('this kernel has no netem: rates by htb; the nodes apply each link\'s delay and loss themselves')
    say('%d hosts, %d links; no link to this machine\'s interfaces' % (len(plan['hosts']), len(plan['links'])))
    procs = {}
    result['procs'] = procs
    began = time.time()
    for proc in plan['processes']:
        if proc['kind'] == 'client':
            continue
        extra = [] if netem else proc['withoutNetem']
        procs[proc['host']] = start(hosts[proc['host']], proc, plan['out'], extra)
        if proc['kind'] == 'bootstrapper':
            time.sleep(0.5)
    ready = wait_ready(hosts, plan, result)
    result['ready'] = ready
    result['readySeconds'] = round(time.time() - began, 1)
    result['readyAt'] = int(time.time() * 1000)  # wall clock, for bench:emulators
    if not ready:
        say('the overlay is not ready after %ds: not registered %s, POPs without routes %s' % (
            plan['readySeconds'], result.get('missing'), result.get('unrouted')))
        return
    say('all %d nodes registered, every POP has routes, after %.1fs' % (len(plan['nodes']), result['readySeconds']))
    duration = plan['duration']
    play = plan['clientDuration']
    if play is None:
        play = max(5, int(duration - (time.time() - began) - 3)) if duration is not None else 60
    clients = [p for p in plan['processes'] if p['kind'] == 'client']
    for proc in clients:
        procs[proc['host']] = start(hosts[proc['host']], proc, plan['out'], ['--duration', str(play)])
    result['clientSeconds'] = play
    result['clientsStartedAt'] = int(time.time() * 1000)
    say('%d clients playing for %ds' % (len(clients), play))
    if duration is None:
        from mininet.cli import CLI
        say('the Mininet CLI: e.g. "c1 ip route", "o3 tail %s/o3.log", "xterm c1"; '
            'exit (or Ctrl-D) stops everything' % plan['out'])
        setLogLevel('output')  # the CLI prints its commands' output at this level
        CLI(net)
        setLogLevel('warning')
    else:
        deadline = time.time() + play + 45
        for proc in clients:
            try:
                procs[proc['host']].wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
        rest = began + duration - time.time()
        if rest > 0:
            time.sleep(rest)
    result['clients'] = {p['host']: procs[p['host']].poll() for p in clients}


def main():
    plan = json.load(open(sys.argv[1]))
    result_path = sys.argv[2]
    setLogLevel('warning')
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if plan['duration'] is not None:
        signal.signal(signal.SIGINT, on_signal)
        threading.Thread(target=watch_stdin, daemon=True).start()
    result = {'ready': False, 'netem': None}
    net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False, waitConnected=False)
    code = 0
    try:
        run(net, plan, result)
    except Stop as why:
        say('stopping (%s)' % why)
        result['stopped'] = str(why)
        code = 130
    except Exception as err:
        say('failed: %s' % err)
        result['error'] = str(err)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs = result.pop('procs', {})
        if 'clients' not in result:
            # Stopped early: null marks a client that was still playing.
            result['clients'] = {p['host']: procs[p['host']].poll()
                                 for p in plan['processes'] if p['kind'] == 'client' and p['host'] in procs}
        stop_all(procs)
        net.stop()
        say('network removed')
        with open(result_path, 'w') as f:
            json.dump(result, f, indent=2)
    sys.exit(code)


if __name__ == '__main__':
    main()
