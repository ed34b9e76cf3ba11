# egress_ifindex exists only for programs run from a devmap.
# type: xdp
# expect: reject invalid bpf_context access
    ldxw %r0, [%r1+20]
    mov %r0, 2
    exit
