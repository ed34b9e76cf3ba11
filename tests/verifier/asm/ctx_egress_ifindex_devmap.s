# A devmap program reads egress_ifindex.
# type: xdp
# attach: devmap
# expect: accept
    ldxw %r0, [%r1+20]
    mov %r0, 2
    exit
