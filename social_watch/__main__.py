from social_watch.cli import main

main()
