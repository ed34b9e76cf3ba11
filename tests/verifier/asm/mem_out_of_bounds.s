# A raw buffer program reads past its 64 bytes.
# type: mem
# mem_size: 64
# expect: reject
    ldxb %r0, [%r1+64]
    exit
