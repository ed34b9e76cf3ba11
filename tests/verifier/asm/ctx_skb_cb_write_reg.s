# A socket filter may write skb->cb[] from a register.
# type: socket
# expect: accept
    mov %r2, 1
    stxw [%r1+52], %r2
    mov %r0, 0
    exit
