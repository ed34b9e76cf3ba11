# A socket filter may not write skb->mark.
# type: socket
# expect: reject invalid bpf_context access
    mov %r2, 1
    stxw [%r1+8], %r2
    mov %r0, 0
    exit
