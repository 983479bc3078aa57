fn main() {
    yew::Renderer::<sesshu_ui::App>::new().render();
}
