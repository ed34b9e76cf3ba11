# A jump to itself on one path; the other path exits.
# type: socket
# expect: reject infinite loop detected
    call 7
    jeq %r0, 0, out
l:
    ja l
out:
    exit
