# A raw buffer program reads its last byte.
# type: mem
# mem_size: 64
# expect: accept
    ldxb %r0, [%r1+63]
    exit
