from kluis.demo import main

main()
