# ingress_ifindex and rx_queue_index.
# type: xdp
# expect: accept
    ldxw %r2, [%r1+12]
    ldxw %r3, [%r1+16]
    mov %r0, 2
    exit
