# A socket filter reads skb->len.
# type: socket
# expect: accept
    ldxw %r0, [%r1+0]
    exit
