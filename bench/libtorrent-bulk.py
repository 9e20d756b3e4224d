#!/usr/bin/python3
# libtorrent <-> libtorrent bulk transfer on loopback, the reference point for bench/throughput.ts:
# plaintext, forced MSE/RC4, and an SSL torrent (libtorrent's TLS profile), each a seeder and a
# leecher in their own process. Prints one JSON object on stdout.
#
#   /usr/bin/python3 bench/libtorrent-bulk.py [--size MiB] [--runs N] [--modes plain,rc4,ssl]
#                                            [--piece-length KiB] [--out FILE]
#
# Runs under Debian's /usr/bin/python3 (python3-libtorrent is only importable there).
#
# Settings, both peers: lt.high_performance_seed() (libtorrent's own preset for fast seeding: deep
# send buffers, more disk queue, no unchoke limit), then only what a loopback benchmark must change:
# no DHT/LSD/UPnP/NAT-PMP, TCP only (uTP off both ways, so the transport is the one the row names),
# one listen socket on 127.0.0.1. The exact dicts are in the JSON ("settings").
#
# Timing matches bench/throughput.ts: the seeder checks its data once per mode (not timed), a fresh
# leecher per run; the clock and both processes' getrusage start when the leecher dials and stop when
# its last piece passed the hash check (torrent_finished_alert). CPU is RUSAGE_SELF, so it includes
# libtorrent's network and disk threads.
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import libtorrent as lt

MIB = 1 << 20
SSL_SOCKET = 1 << 18  # peer_info flag bit the Python binding does not name
SEED_PORT = 47_713
LEECH_PORT = 47_714


def emit(event, **fields):
    sys.stdout.write(json.dumps({'event': event, **fields}) + '\n')
    sys.stdout.flush()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_stime


def overrides(mode, listen):
    s = {
        'listen_interfaces': listen,
        'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
        'enable_ip_notifier': False,
        'enable_outgoing_utp': False, 'enable_incoming_utp': False,
        'allow_multiple_connections_per_ip': True,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    }
    if mode == 'rc4':
        s.update(out_enc_policy=int(lt.enc_policy.forced), in_enc_policy=int(lt.enc_policy.forced),
                 allowed_enc_level=int(lt.enc_level.rc4), prefer_rc4=True)
    else:
        # SSL torrents never run MSE inside TLS; plaintext is plaintext.
        s.update(out_enc_policy=int(lt.enc_policy.disabled), in_enc_policy=int(lt.enc_policy.disabled))
    return s


def settings(mode, listen):
    s = lt.high_performance_seed()
    s.update(overrides(mode, listen))
    return s


def peer(args):
    """One side, driven by the parent over stdin/stdout (JSON lines)."""
    listen = f'127.0.0.1:{args.port}' + ('s' if args.mode == 'ssl' else '')
    ses = lt.session(settings(args.mode, listen))
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save
    h = ses.add_torrent(atp)
    if args.cert:
        # '' for DH params: TLS 1.3 uses ECDHE; libtorrent logs a harmless "use DH file" error alert.
        h.set_ssl_certificate(args.cert, args.key, '')

    if args.role == 'seed':
        while not h.status().is_seeding:
            ses.wait_for_alert(100)
            ses.pop_alerts()
        cpu0, sys0 = cpu_seconds()
        emit('ready', pieces=h.status().num_pieces)
        for line in sys.stdin:
            if line.strip() == 'mark':
                cpu0, sys0 = cpu_seconds()
                emit('marked')
            elif line.strip() == 'stats':
                cpu, sysc = cpu_seconds()
                emit('stats', cpuSeconds=cpu - cpu0, systemSeconds=sysc - sys0, uploaded=h.status().all_time_upload)
            elif line.strip() == 'exit':
                break
        return 0

    # leech: dial once the parent says go, stop at the last verified piece
    emit('ready')
    sys.stdin.readline()
    cpu0, sys0 = cpu_seconds()
    t0 = time.monotonic()
    h.connect_peer(('127.0.0.1', args.seed_port))
    flags = 0
    deadline = t0 + args.timeout
    next_look = t0
    while True:
        ses.wait_for_alert(5)
        finished = any(isinstance(a, lt.torrent_finished_alert) for a in ses.pop_alerts())
        # The transport flags settle after the encryption handshake; look now and then, not every turn.
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 0.1
            for p in h.get_peer_info():
                flags |= p.flags
        if finished or h.status().is_seeding:
            break
        if time.monotonic() > deadline:
            emit('error', message=f'timeout at {h.status().progress * 100:.1f}%')
            return 1
    seconds = time.monotonic() - t0
    cpu, sysc = cpu_seconds()
    st = h.status()
    emit('complete', seconds=seconds, cpuSeconds=cpu - cpu0, systemSeconds=sysc - sys0, bytes=st.total_wanted,
         rc4=bool(flags & lt.peer_info.rc4_encrypted), ssl=bool(flags & SSL_SOCKET))
    return 0


class Child:
    def __init__(self, argv):
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, line):
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()

    def next(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f'peer exited ({self.p.wait()})')
        e = json.loads(line)
        if e['event'] == 'error':
            raise RuntimeError(e['message'])
        return e

    def stop(self):
        try:
            self.send('exit')
            self.p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def make_pki(work, name):
    """A swarm CA in the torrent (ssl-cert) and a certificate per peer whose SAN is the torrent name."""
    run = lambda *a: subprocess.run(['openssl', *a], check=True, capture_output=True, cwd=work)
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
        '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench CA')
    with open(os.path.join(work, 'san.ext'), 'w') as f:
        f.write(f'subjectAltName=DNS:{name}\n')
    for who in ('seed', 'leech'):
        run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f'{who}.key',
            '-out', f'{who}.csr', '-subj', f'/CN={who}')
        run('x509', '-req', '-in', f'{who}.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
            '-out', f'{who}.pem', '-days', '2', '-extfile', 'san.ext')
    with open(os.path.join(work, 'ca.pem')) as f:
        return f.read()


def make_torrent(path, out, piece_length, root_cert=None):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v1_only)
    if root_cert:
        ct.set_root_cert(root_cert)
    lt.set_piece_hashes(ct, os.path.dirname(path))
    with open(out, 'wb') as f:
        f.write(lt.bencode(ct.generate()))


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def bench(args):
    work = tempfile.mkdtemp(prefix='bttls-ltbench-')
    try:
        seed_dir = os.path.join(work, 'seed')
        os.mkdir(seed_dir)
        payload = os.path.join(seed_dir, 'payload.bin')
        with open(payload, 'wb') as f:
            for _ in range(args.size // 64):
                f.write(os.urandom(64 * MIB))
            f.write(os.urandom((args.size % 64) * MIB))
        ca = make_pki(work, 'payload.bin') if 'ssl' in args.modes else None
        torrents = {}
        for mode in args.modes:
            t = os.path.join(work, f'{mode}.torrent')
            make_torrent(payload, t, args.piece_length * 1024, ca if mode == 'ssl' else None)
            torrents[mode] = t

        results = []
        for mode in args.modes:
            certs = lambda who: ['--cert', os.path.join(work, f'{who}.pem'), '--key', os.path.join(work, f'{who}.key')] if mode == 'ssl' else []
            seeder = Child(['peer', '--role', 'seed', '--mode', mode, '--torrent', torrents[mode], '--save', seed_dir,
                            '--port', str(SEED_PORT), *certs('seed')])
            runs = []
            try:
                seeder.next()  # ready: data checked, seeding
                for r in range(args.runs):
                    out = tempfile.mkdtemp(dir=work, prefix='get-')
                    leecher = Child(['peer', '--role', 'leech', '--mode', mode, '--torrent', torrents[mode], '--save', out,
                                     '--port', str(LEECH_PORT), '--seed-port', str(SEED_PORT), '--timeout', str(args.timeout),
                                     *certs('leech')])
                    try:
                        leecher.next()  # ready
                        seeder.send('mark')
                        seeder.next()
                        leecher.send('go')
                        done = leecher.next()
                        seeder.send('stats')
                        seed = seeder.next()
                    finally:
                        leecher.stop()
                        shutil.rmtree(out, ignore_errors=True)
                    run = {
                        'seconds': done['seconds'], 'mibPerSecond': done['bytes'] / MIB / done['seconds'],
                        'leecherCpuSeconds': done['cpuSeconds'], 'seederCpuSeconds': seed['cpuSeconds'],
                        'leecherSystemSeconds': done['systemSeconds'], 'seederSystemSeconds': seed['systemSeconds'],
                        'bytes': done['bytes'], 'rc4': done['rc4'], 'ssl': done['ssl'],
                    }
                    want = {'plain': (False, False), 'rc4': (True, False), 'ssl': (False, True)}[mode]
                    if (run['rc4'], run['ssl']) != want:
                        raise RuntimeError(f'{mode}: the link ran rc4={run["rc4"]} ssl={run["ssl"]}')
                    runs.append(run)
                    sys.stderr.write(f'  libtorrent {mode:5} run {r + 1}: {run["mibPerSecond"]:7.1f} MiB/s, cpu seeder '
                                     f'{run["seederCpuSeconds"]:.2f} s, leecher {run["leecherCpuSeconds"]:.2f} s\n')
            finally:
                seeder.stop()
            gib = args.size / 1024
            results.append({
                'mode': mode,
                'mibPerSecond': median([r['mibPerSecond'] for r in runs]),
                'seconds': median([r['seconds'] for r in runs]),
                'seederCpuSecondsPerGiB': median([r['seederCpuSeconds'] for r in runs]) / gib,
                'leecherCpuSecondsPerGiB': median([r['leecherCpuSeconds'] for r in runs]) / gib,
                'runs': runs,
            })
        defaults = lt.default_settings()
        preset = lt.high_performance_seed()
        report = {
            'libtorrent': lt.__version__,
            'sizeMiB': args.size,
            'pieceLength': args.piece_length * 1024,
            'runsPerMode': args.runs,
            'settings': {
                'preset': 'lt.high_performance_seed()',
                'presetChanges': {k: v for k, v in sorted(preset.items()) if defaults.get(k) != v},
                'overrides': {m: {k: v for k, v in overrides(m, f'127.0.0.1:PORT{"s" if m == "ssl" else ""}').items() if k != 'alert_mask'} for m in args.modes},
            },
            'results': results,
        }
        text = json.dumps(report, indent=2)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text + '\n')
        print(text)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', nargs='?', default='bench', choices=['bench', 'peer'])
    ap.add_argument('--size', type=int, default=1024, help='MiB')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--modes', type=lambda v: v.split(','), default=['plain', 'rc4', 'ssl'])
    ap.add_argument('--piece-length', type=int, default=1024, help='KiB (bench/throughput.ts uses 1 MiB pieces)')
    ap.add_argument('--timeout', type=float, default=300)
    ap.add_argument('--out')
    # peer subcommand
    ap.add_argument('--role', choices=['seed', 'leech'])
    ap.add_argument('--mode', choices=['plain', 'rc4', 'ssl'])
    ap.add_argument('--torrent')
    ap.add_argument('--save')
    ap.add_argument('--port', type=int)
    ap.add_argument('--seed-port', type=int)
    ap.add_argument('--cert')
    ap.add_argument('--key')
    args = ap.parse_args()
    for m in args.modes:
        if m not in ('plain', 'rc4', 'ssl'):
            ap.error(f'unknown mode {m}')
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return peer(args) if args.command == 'peer' else bench(args)


if __name__ == '__main__':
    sys.exit(main())
