#!/usr/bin/python3
"""systemd's side of the notify protocol, for tests: binds a Unix datagram socket (Node has no
AF_UNIX datagram sockets) and prints each datagram it receives as one JSON line on stdout."""
import json
import os
import socket
import sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
print(json.dumps({"listening": path}), flush=True)
while True:
    data = sock.recv(65536)
    print(json.dumps({"datagram": data.decode("utf-8", "replace")}), flush=True)
