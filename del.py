import socket,sys
s=socket.create_connection(("127.0.0.1",19721)); s.recv(4096)
s.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.x 1\r\nPUB $JS.API.STREAM.DELETE.DEL_JOURNAL_0 _INBOX.x 0\r\n\r\nPING\r\n')
import time; time.sleep(0.5); print(s.recv(4096))
