/* Placeholder so the tree configures until the real mavisctl lands. */
int main(void){return 0;}
