# A number used as an address.
# type: socket
# expect: reject invalid mem access
    mov %r1, 4096
    ldxw %r0, [%r1+0]
    exit
