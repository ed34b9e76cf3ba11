# A jump to itself.
# type: socket
# expect: reject infinite loop detected
    mov %r0, 0
l:
    ja l
