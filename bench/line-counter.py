# A json_lines receiver for the benchmarks that costs as little CPU as a receiver can: Python's
# standard library only, reading into one buffer and counting newlines in C (bytes.count). The
# machine's cores are shared by the agent and its receiver, so a costly receiver would cap what
# the benchmark can show. Prints "port N" once, then "count N" whenever the count changed
# (at most every 50 ms); stops when stdin closes.
import selectors, socket, sys, threading, time

lines = 0
def serve():
    global lines
    sel = selectors.DefaultSelector()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ)
    print(f"port {srv.getsockname()[1]}", flush=True)
    buf = bytearray(1 << 20)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is srv:
                c, _ = srv.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                n = s.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                n = 0
            if n == 0:
                sel.unregister(s)
                s.close()
                continue
            lines += buf.count(b"\n", 0, n)

def report():
    last = -1
    while True:
        time.sleep(0.05)
        if lines != last:
            last = lines
            print(f"count {last}", flush=True)

threading.Thread(target=serve, daemon=True).start()
threading.Thread(target=report, daemon=True).start()
sys.stdin.read()
