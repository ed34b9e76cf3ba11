# ld_abs needs the context in r6.
# type: socket
# expect: reject R6 != pointer to skb
    mov %r6, 0
    ldabsh 12
    exit
