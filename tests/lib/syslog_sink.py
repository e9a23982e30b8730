#!/usr/bin/python3
"""A syslog socket for tests: binds a unix datagram socket at PATH and appends each
message it receives, as one line, to LOG ("<PRI>... tag: message"). Runs until killed.

    syslog_sink.py PATH LOG
"""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # the socket appears only once it is bound
with open(log, "a", buffering=1) as out:
    while True:
        msg = s.recv(65536).decode("utf-8", "replace").rstrip("\n")
        out.write(msg.replace("\n", "\\n") + "\n")
