# 22 independent branches each set a bit of r6, which a final comparison makes precise: 4 million paths.
# type: socket
# expect: reject BPF program is too large
    mov %r6, 0
    call 7
    jeq %r0, 0, +1
    or %r6, 1
    call 7
    jeq %r0, 0, +1
    or %r6, 2
    call 7
    jeq %r0, 0, +1
    or %r6, 4
    call 7
    jeq %r0, 0, +1
    or %r6, 8
    call 7
    jeq %r0, 0, +1
    or %r6, 16
    call 7
    jeq %r0, 0, +1
    or %r6, 32
    call 7
    jeq %r0, 0, +1
    or %r6, 64
    call 7
    jeq %r0, 0, +1
    or %r6, 128
    call 7
    jeq %r0, 0, +1
    or %r6, 256
    call 7
    jeq %r0, 0, +1
    or %r6, 512
    call 7
    jeq %r0, 0, +1
    or %r6, 1024
    call 7
    jeq %r0, 0, +1
    or %r6, 2048
    call 7
    jeq %r0, 0, +1
    or %r6, 4096
    call 7
    jeq %r0, 0, +1
    or %r6, 8192
    call 7
    jeq %r0, 0, +1
    or %r6, 16384
    call 7
    jeq %r0, 0, +1
    or %r6, 32768
    call 7
    jeq %r0, 0, +1
    or %r6, 65536
    call 7
    jeq %r0, 0, +1
    or %r6, 131072
    call 7
    jeq %r0, 0, +1
    or %r6, 262144
    call 7
    jeq %r0, 0, +1
    or %r6, 524288
    call 7
    jeq %r0, 0, +1
    or %r6, 1048576
    call 7
    jeq %r0, 0, +1
    or %r6, 2097152
    mov %r0, 0
    jgt %r6, 0x3fffff, +1
    mov %r0, 1
    exit
