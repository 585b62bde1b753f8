use proc_macro::TokenStream;
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    input
}
