# A tc program may write skb->mark.
# type: tc
# expect: accept
    stw [%r1+8], 1
    mov %r0, 0
    exit
