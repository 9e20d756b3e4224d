#!/usr/bin/python3
# A libtorrent peer for the interop harness, driven by CLI arguments, reporting JSON lines on stdout.
#
# Runs under Debian's /usr/bin/python3: python3-libtorrent is only importable there (the python3 on
# PATH may be a pyenv build without it).
#
#   lt_peer.py create --path FILE --out X.torrent --version v1|v2|hybrid [--piece-length N]
#                     [--tracker URL] [--root-cert CA.pem]
#   lt_peer.py seed|leech (--torrent X.torrent | --magnet URI) --save DIR --listen 127.0.0.1:PORT[s]
#                     [--enc plain|default|rc4] [--connect HOST:PORT]... [--outgoing-interface IP]
#                     [--cert PEM --key PEM] [--timeout S]
#
# Events: ready, listening, alert, peer (one per new peer or change of its transport flags),
# complete (leech), peers (snapshot at completion/exit), stopped. A leecher exits 0 once every piece
# passed its hash check and the files are closed; 1 on timeout or error. A seeder runs until SIGTERM.
import argparse
import json
import os
import signal
import sys
import time

import libtorrent as lt

SSL_SOCKET = 1 << 18  # peer_info flag bit not exposed by the Python binding
UTP_SOCKET = 1 << 17


def emit(event, **fields):
    sys.stdout.write(json.dumps({'event': event, **fields}) + '\n')
    sys.stdout.flush()


def create(args):
    fs = lt.file_storage()
    lt.add_files(fs, args.path)
    flags = {'v1': lt.create_torrent.v1_only, 'v2': lt.create_torrent.v2_only, 'hybrid': 0}[args.version]
    ct = lt.create_torrent(fs, args.piece_length, flags=flags)
    if args.tracker:
        ct.add_tracker(args.tracker)
    if args.root_cert:
        with open(args.root_cert) as f:
            ct.set_root_cert(f.read())
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(args.path)))
    data = lt.bencode(ct.generate())
    with open(args.out, 'wb') as f:
        f.write(data)
    ti = lt.torrent_info(args.out)
    ih = ti.info_hashes()
    emit('created', file=args.out, name=ti.name(),
         infoHashV1=str(ih.v1) if ih.has_v1() else None, infoHashV2=str(ih.v2) if ih.has_v2() else None,
         sslCert=bool(ti.ssl_cert()))


def settings(args):
    s = {
        'listen_interfaces': args.listen,
        'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
        'enable_ip_notifier': False,
        # TCP only, so the transport under test is the one the row names.
        'enable_outgoing_utp': False, 'enable_incoming_utp': False,
        'allow_multiple_connections_per_ip': True,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification |
        lt.alert.category_t.status_notification | lt.alert.category_t.connect_notification,
        # Loopback: no reason to wait between connection attempts.
        'min_reconnect_time': 1,
    }
    if args.outgoing_interface:
        s['outgoing_interfaces'] = args.outgoing_interface
    if args.upload_limit:
        s['upload_rate_limit'] = args.upload_limit
    if args.split_pieces:
        # Never ask one peer for whole pieces: pieces then mix blocks from several peers.
        s['whole_pieces_threshold'] = 0
    if args.enc == 'plain':
        s.update(out_enc_policy=int(lt.enc_policy.disabled), in_enc_policy=int(lt.enc_policy.disabled))
    elif args.enc == 'rc4':
        s.update(out_enc_policy=int(lt.enc_policy.forced), in_enc_policy=int(lt.enc_policy.forced),
                 allowed_enc_level=int(lt.enc_level.rc4), prefer_rc4=True)
    return s


def peer_view(p):
    ip, port = p.ip
    return {
        'ip': ip, 'port': port, 'client': p.client if isinstance(p.client, str) else p.client.decode('utf-8', 'replace'),
        'rc4_encrypted': bool(p.flags & lt.peer_info.rc4_encrypted),
        'plaintext_encrypted': bool(p.flags & lt.peer_info.plaintext_encrypted),
        'ssl': bool(p.flags & SSL_SOCKET), 'utp': bool(p.flags & UTP_SOCKET),
        'outgoing': bool(p.flags & lt.peer_info.local_connection),
        'downloaded': p.total_download, 'uploaded': p.total_upload,
    }


INTERESTING_ALERTS = {
    'listen_failed_alert', 'peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert',
    'incoming_connection_alert', 'torrent_error_alert', 'torrent_need_cert_alert', 'metadata_received_alert',
    'torrent_finished_alert', 'hash_failed_alert', 'file_error_alert', 'peer_ban_alert', 'metadata_failed_alert',
}


def run_peer(args):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append('SIGTERM'))
    signal.signal(signal.SIGINT, lambda *_: stopping.append('SIGINT'))

    ses = lt.session(settings(args))
    if args.upload_limit:
        # upload_rate_limit exempts peers on the local network (all of loopback): the local peer class
        # has its own limit, so cap every class the session has.
        for cid in (ses.global_peer_class_id, ses.tcp_peer_class_id, ses.local_peer_class_id):
            info = ses.get_peer_class(cid)
            info['upload_limit'] = args.upload_limit
            ses.set_peer_class(cid, info)
    if args.torrent:
        atp = lt.add_torrent_params()
        with open(args.torrent, 'rb') as f:
            meta = lt.bdecode(f.read())
        if not args.use_tracker:
            # Peers come only from --connect: a tracker would hand libtorrent itself and the dead
            # peers of earlier scenarios. The info dict, hence the infohash, is unchanged.
            meta.pop(b'announce', None)
            meta.pop(b'announce-list', None)
        atp.ti = lt.torrent_info(meta)
    else:
        atp = lt.parse_magnet_uri(args.magnet)
    atp.save_path = args.save
    started = time.monotonic()
    h = ses.add_torrent(atp)
    emit('ready', libtorrent=lt.__version__, mode=args.mode, enc=args.enc)

    def set_cert():
        if args.cert:
            # '' for DH params: ECDHE is used; libtorrent logs a harmless "use DH file" error alert.
            h.set_ssl_certificate(args.cert, args.key, '')

    set_cert()
    seen = {}
    last_dial = None
    complete_at = None
    deadline = started + args.timeout if args.timeout else None
    code = 0

    def snapshot():
        return [peer_view(p) for p in h.get_peer_info()]

    ready_states = {lt.torrent_status.states.downloading, lt.torrent_status.states.finished,
                    lt.torrent_status.states.seeding, lt.torrent_status.states.downloading_metadata}
    reported_ready = False
    while not stopping:
        if not reported_ready:
            st = h.status()
            # libtorrent drops incoming connections, silently, until the torrent is added and
            # checked; 'torrent-ready' tells the harness when the other side may dial.
            if st.state in ready_states and (args.mode == 'leech' or st.is_seeding):
                reported_ready = True
                emit('torrent-ready', state=str(st.state), progress=st.progress)
        for a in ses.pop_alerts():
            name = type(a).__name__
            if name == 'listen_succeeded_alert':
                ep = a.address, a.port
                emit('listening', address=str(ep[0]), port=ep[1], socket=str(a.socket_type))
            elif name == 'torrent_need_cert_alert':
                emit('alert', type=name, message=a.message())
                set_cert()
            elif name in INTERESTING_ALERTS:
                emit('alert', type=name, message=a.message())
        for p in snapshot():
            key = (p['ip'], p['port'])
            view = (p['rc4_encrypted'], p['plaintext_encrypted'], p['ssl'], p['client'])
            if seen.get(key) != view:
                seen[key] = view
                emit('peer', **p)
        st = h.status()
        # Dial at start, and again every 2 s while no peer is connected (as a leecher): a dial refused
        # before the other side listened, or a connection it dropped, is not fatal.
        now = time.monotonic()
        if args.connect and (last_dial is None or (args.mode == 'leech' and st.num_peers == 0 and now - last_dial > 2)):
            for c in args.connect:
                host, port = c.rsplit(':', 1)
                h.connect_peer((host, int(port)))
            last_dial = now
        if args.mode == 'leech' and complete_at is None and st.is_seeding:
            complete_at = time.monotonic()
            seconds = complete_at - started
            total = h.torrent_file().total_size() if h.torrent_file() else st.total_wanted
            emit('peers', peers=snapshot())
            emit('complete', seconds=seconds, bytes=total, mibPerSecond=total / 2 ** 20 / seconds)
            break
        if deadline is not None and time.monotonic() > deadline:
            emit('peers', peers=snapshot())
            emit('error', message=f'timeout after {args.timeout} s at {st.progress * 100:.1f}% ({st.num_peers} peers)')
            code = 1
            break
        time.sleep(0.05)

    if args.mode == 'seed':
        emit('peers', peers=snapshot())
    st = h.status()
    emit('stopped', reason=stopping[0] if stopping else ('complete' if complete_at else 'error'),
         uploaded=st.all_time_upload, downloaded=st.all_time_download)
    # Closing the session closes the files, so the harness hashes what is really on disk.
    ses.remove_torrent(h)
    del h
    del ses
    return code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['create', 'seed', 'leech'])
    ap.add_argument('--path')
    ap.add_argument('--out')
    ap.add_argument('--version', choices=['v1', 'v2', 'hybrid'], default='v1')
    ap.add_argument('--piece-length', type=int, default=256 * 1024)
    ap.add_argument('--tracker')
    ap.add_argument('--root-cert')
    ap.add_argument('--torrent')
    ap.add_argument('--magnet')
    ap.add_argument('--save')
    ap.add_argument('--listen', default='127.0.0.1:0')
    ap.add_argument('--enc', choices=['plain', 'default', 'rc4'], default='default')
    ap.add_argument('--connect', action='append', default=[])
    ap.add_argument('--outgoing-interface')
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--timeout', type=float, default=0)
    ap.add_argument('--use-tracker', action='store_true')
    ap.add_argument('--upload-limit', type=int, default=0, help='bytes per second, 0 = none')
    ap.add_argument('--split-pieces', action='store_true')
    args = ap.parse_args()
    if args.mode == 'create':
        create(args)
        return 0
    return run_peer(args)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception as e:  # one line the harness can show as the reason
        emit('error', message=f'{type(e).__name__}: {e}')
        sys.exit(1)
