# bpf_skb_load_bytes into an 8-byte stack buffer.
# type: socket
# expect: accept
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 8
    call 26
    ldxdw %r0, [%r10-8]
    exit
