# A socket filter may not write skb->mark.
# type: socket
# expect: reject invalid bpf_context access
    stw [%r1+8], 1
    mov %r0, 0
    exit
